"""Configuration datastores (running, candidate, startup) backed by libyang."""
