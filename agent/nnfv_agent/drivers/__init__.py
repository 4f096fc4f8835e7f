"""Drivers that turn plan operations into kernel state."""
