"""What the protocol layer needs from the rest of the agent, declared here as narrow interfaces.

The handlers of netconf/ get these at construction; server.py (the Agent) implements them and
wires everything. Nothing in netconf/ imports server.py, so the protocol code can be read,
tested and changed without the whole agent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from lxml import etree

if TYPE_CHECKING:
    from .session import Session

# The key leaves of a list entry, in schema order (empty for anything that is not a list entry).
KeysOf = Callable[[etree._Element], tuple[str, ...]]


class OperationalView(Protocol):
    """The node's state beside its configuration, for get and get-data on operational."""

    def operational_xml(self, config_xml: str) -> str:
        """Running configuration with the data plane's state merged into it."""
        ...

    def state_data(self, op: etree._Element) -> list[etree._Element]:
        """State-only subtrees (sessions, capabilities, NACM counters...) for this request."""
        ...


class SessionTable(Protocol):
    """The agent's open sessions, for kill-session and ietf-netconf-monitoring."""

    def kill_session(self, session_id: int, killed_by: int | None = None) -> bool: ...

    def sessions_snapshot(self) -> list[Session]: ...
