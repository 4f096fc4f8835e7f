"""The node: template catalog, capability probe, resources and NF resolution."""
