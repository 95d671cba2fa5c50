"""The base values every layer shares (errors, ids, clock, located YAML, safe text, the plan
model, settings values, warnings as notes); it imports nothing above it.
"""
