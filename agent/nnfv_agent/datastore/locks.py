"""RFC 6241 section 7.5 global locks, one per datastore."""

from __future__ import annotations

from ..errors import AgentError, Kind, Scope


class LockTable:
    def __init__(self) -> None:
        self._holders: dict[str, int] = {}

    def holder(self, datastore: str) -> int | None:
        return self._holders.get(datastore)

    def acquire(self, datastore: str, session_id: int) -> None:
        holder = self._holders.get(datastore)
        if holder is not None:
            who = "this session" if holder == session_id else f"session {holder}"
            raise AgentError(
                f"the {datastore} datastore is already locked by {who}",
                kind=Kind.LOCK_DENIED,
                scope=Scope.REQUEST,
                info={"session-id": str(holder)},
            )
        self._holders[datastore] = session_id

    def release(self, datastore: str, session_id: int) -> None:
        holder = self._holders.get(datastore)
        if holder != session_id:
            owner = "nobody" if holder is None else f"session {holder}"
            raise AgentError(
                f"the {datastore} datastore is not locked by this session (held by {owner})",
                kind=Kind.OPERATION_FAILED,
                scope=Scope.REQUEST,
                info={"session-id": str(holder or 0)},
            )
        del self._holders[datastore]

    def release_all(self, session_id: int) -> list[str]:
        mine = [ds for ds, sid in self._holders.items() if sid == session_id]
        for ds in mine:
            del self._holders[ds]
        return mine

    def check_writable(self, datastore: str, session_id: int) -> None:
        holder = self._holders.get(datastore)
        if holder is not None and holder != session_id:
            raise AgentError(
                f"the {datastore} datastore is locked by session {holder}",
                kind=Kind.IN_USE,
                scope=Scope.REQUEST,
                info={"session-id": str(holder)},
            )
