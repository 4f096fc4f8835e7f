"""The one family of failures the agent raises on purpose, below every other package.

Every layer says *what kind* of failure it hit and, where it knows, *where* (a data path) and a
finer reason (`app_tag`). How a failure is told to a client is the protocol layer's business:
`netconf/errors.py` turns any `AgentError` into `<rpc-error>` elements, in that one place. The
kinds are the failure classes of RFC 6241 Appendix A because they are a good vocabulary, not
because this module knows NETCONF: it has no XML, no error-type and no import from netconf.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Kind(StrEnum):
    """What went wrong, as a client can act on it."""

    IN_USE = "in-use"  # the resource is busy (a lock, a commit in progress)
    INVALID_VALUE = "invalid-value"
    TOO_BIG = "too-big"
    MISSING_ATTRIBUTE = "missing-attribute"
    BAD_ATTRIBUTE = "bad-attribute"
    UNKNOWN_ATTRIBUTE = "unknown-attribute"
    MISSING_ELEMENT = "missing-element"
    BAD_ELEMENT = "bad-element"
    UNKNOWN_ELEMENT = "unknown-element"
    UNKNOWN_NAMESPACE = "unknown-namespace"
    ACCESS_DENIED = "access-denied"
    LOCK_DENIED = "lock-denied"
    RESOURCE_DENIED = "resource-denied"  # out of memory, disk, slots
    ROLLBACK_FAILED = "rollback-failed"
    DATA_EXISTS = "data-exists"
    DATA_MISSING = "data-missing"
    OPERATION_NOT_SUPPORTED = "operation-not-supported"
    OPERATION_FAILED = "operation-failed"
    MALFORMED_MESSAGE = "malformed-message"


class Scope(StrEnum):
    """What the failure is about: the configuration data, or the request that carried it."""

    DATA = "data"  # a value, a node, the deployment of the configuration
    REQUEST = "request"  # the operation itself: its parameters, a lock, a session
    MESSAGE = "message"  # the framing or the XML of the message
    TRANSPORT = "transport"


class AgentError(Exception):
    """Base of the family. Subclasses set `kind`, `scope` and `app_tag` as class defaults."""

    kind: Kind = Kind.OPERATION_FAILED
    scope: Scope = Scope.DATA
    app_tag: str | None = None

    def __init__(
        self,
        message: str,
        *,
        kind: Kind | None = None,
        scope: Scope | None = None,
        app_tag: str | None = None,
        path: str | None = None,
        path_nsmap: dict[str, str] | None = None,
        info: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        if scope is not None:
            self.scope = scope
        if app_tag is not None:
            self.app_tag = app_tag
        self.path = path  # an XPath instance identifier of the offending node
        self.path_nsmap = dict(path_nsmap or {})
        self.info = dict(info or {})

    def describe(self) -> str:
        """The message with its kind and place, for logs and for bundles of several."""
        where = f" at {self.path}" if self.path else ""
        return f"{self.kind.value}{where}: {self.message}"


class AgentErrors(AgentError):
    """Several failures at once (every validation failure of one configuration)."""

    def __init__(self, errors: Iterable[AgentError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.describe() for e in self.errors))
        if self.errors:
            self.kind = self.errors[0].kind
