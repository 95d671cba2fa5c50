"""What the user writes, loaded and checked: the config, the JSON Schemas, manifests,
people and the operator's policy.
"""
