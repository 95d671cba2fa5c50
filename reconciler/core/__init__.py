"""The base values every layer shares: errors, ids, clock, located YAML, safe text, the
plan model and settings values; imports nothing above it.
"""
