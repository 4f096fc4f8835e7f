"""RFC 6241 section 8.4 (:confirmed-commit:1.1): commit, then roll back unless confirmed in time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..fsutil import remove
from ..netconf.errors import ErrorType, RpcError
from .persist import write_state
from .store import Datastores

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600


@dataclass
class Pending:
    session_id: int
    persist: str | None
    rollback_xml: str
    timer: threading.Timer


class ConfirmedCommits:
    def __init__(
        self, stores: Datastores, on_rollback: Callable[[str], None] | None = None
    ) -> None:
        self.stores = stores
        self.pending: Pending | None = None
        self.on_rollback = on_rollback

    def commit(
        self,
        *,
        session_id: int,
        confirmed: bool,
        timeout: int | None,
        persist: str | None,
        persist_id: str | None,
    ) -> None:
        with self.stores.writer():
            pending = self.pending
            if pending is not None:
                self._check_may_confirm(pending, session_id, persist_id)
            elif persist_id is not None:
                raise RpcError(
                    "invalid-value",
                    f"no confirmed commit with persist-id '{persist_id}' is pending",
                    ErrorType.PROTOCOL,
                    info={"bad-element": "persist-id"},
                )
            if not confirmed:
                self.stores.commit(session_id=session_id)
                self._finish()
                return
            rollback_xml = pending.rollback_xml if pending else self.stores.xml("running")
            if pending is None:
                write_state(self.stores.rollback_file, rollback_xml, keep_previous=False)
            try:
                self.stores.commit(session_id=session_id)
            except Exception:
                if pending is None:
                    remove(self.stores.rollback_file)
                raise
            self._arm(session_id, persist, rollback_xml, timeout or DEFAULT_TIMEOUT)

    def cancel(self, *, session_id: int, persist_id: str | None) -> None:
        with self.stores.writer():
            pending = self.pending
            if pending is None:
                raise RpcError(
                    "operation-failed", "no confirmed commit is pending", ErrorType.PROTOCOL
                )
            self._check_may_confirm(pending, session_id, persist_id)
            self._rollback(f"cancelled by session {session_id}")

    def session_ended(self, session_id: int) -> None:
        with self.stores.writer(wait=None):
            pending = self.pending
            if pending and pending.persist is None and pending.session_id == session_id:
                self._rollback(f"session {session_id} closed before confirming")

    def stop(self) -> None:
        if self.pending:
            self.pending.timer.cancel()

    # ---- internals --------------------------------------------------------------------

    def _check_may_confirm(self, pending: Pending, session_id: int, persist_id: str | None) -> None:
        if pending.persist is not None:
            if persist_id != pending.persist:
                raise RpcError(
                    "invalid-value",
                    "a persistent confirmed commit is pending; give "
                    "its persist-id to confirm or cancel it",
                    ErrorType.PROTOCOL,
                    info={"bad-element": "persist-id"},
                )
        elif pending.session_id != session_id:
            raise RpcError(
                "in-use",
                f"a confirmed commit of session {pending.session_id} is pending",
                ErrorType.PROTOCOL,
                info={"session-id": str(pending.session_id)},
            )

    def _arm(self, session_id: int, persist: str | None, rollback_xml: str, timeout: int) -> None:
        if self.pending:
            self.pending.timer.cancel()
        timer = threading.Timer(timeout, self._expire)
        timer.daemon = True
        self.pending = Pending(session_id, persist, rollback_xml, timer)
        timer.start()

    def _expire(self) -> None:
        with self.stores.writer(wait=None):
            if self.pending is not None and threading.current_thread() is self.pending.timer:
                self._rollback("confirm-timeout expired")

    def _finish(self) -> None:
        if self.pending is not None:
            self.pending.timer.cancel()
            self.pending = None
            remove(self.stores.rollback_file)

    def _rollback(self, why: str) -> None:
        pending = self.pending
        assert pending is not None
        pending.timer.cancel()
        log.warning("rolling back confirmed commit: %s", why)
        try:
            self.stores.restore_running(pending.rollback_xml)
        finally:
            self.pending = None
            remove(self.stores.rollback_file)
        if self.on_rollback:
            self.on_rollback(why)
