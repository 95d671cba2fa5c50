"""What a vendor author reads: the provider contract, the registry, HTTP with its retry
rule, endpoint safety and answer parsing.
"""
