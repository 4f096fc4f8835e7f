"""nnfv-agent: a lightweight NETCONF agent for native network functions on CPEs."""

__version__ = "0.1.0"
