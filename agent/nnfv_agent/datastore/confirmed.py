"""RFC 6241 section 8.4 (:confirmed-commit:1.1): commit, then roll back unless confirmed in time.

A rollback that fails (say, an NF of the earlier configuration cannot start now) is not given
up: the configuration to restore stays on disk (so an agent restart restores it too), the
attempt is retried with backoff, and `state_xml()` and `rollback-retry` notifications tell the
operator until it succeeds. A later successful commit supersedes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from ..errors import AgentError, Kind, Scope
from ..fsutil import remove
from .persist import write_state
from .store import Datastores, WriteGuard

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600
AGENT_NS = "urn:nnfv:yang:nnfv-agent"


def retry_delay(attempt: int, low: float, high: float) -> float:
    """Seconds before retry `attempt` + 1 of a rollback: doubling from `low`, at most `high`."""
    return min(high, low * 2 ** min(max(attempt - 1, 0), 32))


@dataclass
class Retry:
    """A failed rollback waiting for its next attempt."""

    reason: str
    rollback_xml: str
    attempts: int
    last_error: str
    next_attempt: datetime
    timer: threading.Timer


@dataclass
class Pending:
    session_id: int
    persist: str | None
    rollback_xml: str
    timer: threading.Timer


class ConfirmedCommits:
    def __init__(
        self,
        stores: Datastores,
        on_rollback: Callable[[str], None] | None = None,
        *,
        publish: Callable[[str], None] | None = None,
        retry_min: float = 1.0,
        retry_max: float = 60.0,
    ) -> None:
        self.stores = stores
        self.pending: Pending | None = None
        self.retrying: Retry | None = None
        self.on_rollback = on_rollback
        self.publish = publish or (lambda xml: None)
        self.retry_min = retry_min
        self.retry_max = retry_max

    def commit(
        self,
        *,
        session_id: int,
        confirmed: bool,
        timeout: int | None,
        persist: str | None,
        persist_id: str | None,
        guard: WriteGuard | None = None,
    ) -> None:
        with self.stores.writer():
            pending = self.pending
            if pending is not None:
                self._check_may_confirm(pending, session_id, persist_id)
            elif persist_id is not None:
                raise AgentError(
                    f"no confirmed commit with persist-id '{persist_id}' is pending",
                    kind=Kind.INVALID_VALUE,
                    scope=Scope.REQUEST,
                    info={"bad-element": "persist-id"},
                )
            if not confirmed:
                self.stores.commit(session_id=session_id, guard=guard)
                self._supersede(remove_file=True)
                self._finish()
                return
            rollback_xml = pending.rollback_xml if pending else self.stores.xml("running")
            if pending is None:
                write_state(self.stores.rollback_file, rollback_xml, keep_previous=False)
            try:
                self.stores.commit(session_id=session_id, guard=guard)
            except Exception:
                if pending is None:
                    if self.retrying is not None:  # the failed rollback still waits: keep it
                        write_state(
                            self.stores.rollback_file,
                            self.retrying.rollback_xml,
                            keep_previous=False,
                        )
                    else:
                        remove(self.stores.rollback_file)
                raise
            self._supersede(remove_file=False)
            self._arm(session_id, persist, rollback_xml, timeout or DEFAULT_TIMEOUT)

    def cancel(self, *, session_id: int, persist_id: str | None) -> None:
        with self.stores.writer():
            pending = self.pending
            if pending is None:
                raise AgentError(
                    "no confirmed commit is pending",
                    kind=Kind.OPERATION_FAILED,
                    scope=Scope.REQUEST,
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
        if self.retrying:
            self.retrying.timer.cancel()

    def state_xml(self) -> etree._Element | None:
        """/nnfva:confirmed-commit-rollback while a failed rollback is being retried."""
        retry = self.retrying
        if retry is None:
            return None
        root = etree.Element(f"{{{AGENT_NS}}}confirmed-commit-rollback", nsmap={None: AGENT_NS})
        for name, value in (
            ("reason", retry.reason),
            ("attempts", str(retry.attempts)),
            ("last-error", retry.last_error),
            ("next-attempt", _iso(retry.next_attempt)),
        ):
            etree.SubElement(root, f"{{{AGENT_NS}}}{name}").text = value
        return root

    # ---- internals --------------------------------------------------------------------

    def _check_may_confirm(self, pending: Pending, session_id: int, persist_id: str | None) -> None:
        if pending.persist is not None:
            if persist_id != pending.persist:
                raise AgentError(
                    "a persistent confirmed commit is pending; give "
                    "its persist-id to confirm or cancel it",
                    kind=Kind.INVALID_VALUE,
                    scope=Scope.REQUEST,
                    info={"bad-element": "persist-id"},
                )
        elif pending.session_id != session_id:
            raise AgentError(
                f"a confirmed commit of session {pending.session_id} is pending",
                kind=Kind.IN_USE,
                scope=Scope.REQUEST,
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
        self.pending = None
        log.warning("rolling back confirmed commit: %s", why)
        self._attempt(why, pending.rollback_xml, 1)

    def _attempt(self, why: str, rollback_xml: str, attempt: int) -> None:
        """One rollback attempt; the caller is the writer of running."""
        try:
            self.stores.restore_running(rollback_xml)
        except Exception as exc:  # noqa: BLE001 - whatever failed, it is retried
            delay = retry_delay(attempt, self.retry_min, self.retry_max)
            at = datetime.now(UTC) + timedelta(seconds=delay)
            timer = threading.Timer(delay, self._retry)
            timer.daemon = True
            self.retrying = Retry(why, rollback_xml, attempt, str(exc), at, timer)
            log.error(
                "confirmed-commit rollback attempt %d failed (%s); the rollback file stays, "
                "next attempt in %g s",
                attempt,
                exc,
                delay,
            )
            self._event("failed", attempt, str(exc), at)
            timer.start()
            return
        remove(self.stores.rollback_file)
        if attempt > 1:
            log.warning("confirmed-commit rollback succeeded at attempt %d", attempt)
            self._event("succeeded", attempt)
        self.retrying = None
        if self.on_rollback:
            self.on_rollback(why)

    def _retry(self) -> None:
        with self.stores.writer(wait=None):
            retry = self.retrying
            if retry is not None and threading.current_thread() is retry.timer:
                self._attempt(retry.reason, retry.rollback_xml, retry.attempts + 1)

    def _supersede(self, *, remove_file: bool) -> None:
        """A commit set running while a failed rollback waited: that rollback is dropped.
        `remove_file` unless the commit is confirmed (its rollback file replaced this one)."""
        retry = self.retrying
        if retry is None:
            return
        retry.timer.cancel()
        self.retrying = None
        if remove_file and self.pending is None:
            remove(self.stores.rollback_file)
        log.warning("a commit superseded the failed confirmed-commit rollback (%s)", retry.reason)
        self._event("superseded", retry.attempts)

    def _event(
        self, event: str, attempt: int, reason: str | None = None, at: datetime | None = None
    ) -> None:
        root = etree.Element(f"{{{AGENT_NS}}}rollback-retry", nsmap={None: AGENT_NS})
        for name, value in (
            ("event", event),
            ("attempt", str(attempt)),
            ("reason", reason),
            ("next-attempt", _iso(at) if at else None),
        ):
            if value is not None:
                etree.SubElement(root, f"{{{AGENT_NS}}}{name}").text = value
        self.publish(etree.tostring(root, encoding="unicode"))


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
