"""Plain, immutable views of the configuration (graphs, templates) used by planner and drivers."""
