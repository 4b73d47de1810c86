"""socklab: a containerised multi-node lab for network programming in Python."""

__version__ = "0.1.0"
