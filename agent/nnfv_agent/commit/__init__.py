"""Commit pipeline: validate, plan, apply, persist."""
