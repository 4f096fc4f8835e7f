"""Compute drivers: native NNFs."""
