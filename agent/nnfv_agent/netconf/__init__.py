"""NETCONF protocol layer: SSH transport, framing, sessions and RPC dispatch."""
