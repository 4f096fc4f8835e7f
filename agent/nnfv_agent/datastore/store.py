"""running, candidate and startup: edits, copies, commits and their persistence.

Every datastore's content is an immutable `Snapshot` (canonical XML as printed by libyang, and
its libyang tree). Readers take the current snapshot and never lock. A writer builds a new
snapshot and swaps the reference:
- candidate and startup edits under a short edit lock (CPU work on the edit only);
- running only through the commit transaction, one writer at a time (`writer()`), which
  waits a bounded time for another writer and then answers `in-use`.
The commit transaction: plan, journal the intent, apply the steps, make the new running
durable, swap the snapshot, clear the journal; events go out after the writer lock is released.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import libyang
from _libyang import ffi, lib
from lxml import etree

from ..commit.journal import CutCommit, Journal
from ..commit.pipeline import CommitPipeline, Plan, PlanFailed, PlanRefused, kill_point
from ..netconf.errors import ErrorType, RpcError, RpcErrors
from ..netconf.xml import parse as parse_xml
from .edit import EditEngine
from .locks import LockTable
from .persist import atomic_write, read_or_empty, remove
from .schema import Schema

log = logging.getLogger(__name__)

DATASTORES = ("running", "candidate", "startup")
WITH_DEFAULTS = {
    None: 0,
    "explicit": 0,
    "report-all": lib.LYD_PRINT_WD_ALL,
    "trim": lib.LYD_PRINT_WD_TRIM,
    "report-all-tagged": lib.LYD_PRINT_WD_ALL_TAG,
}
# How long a second writer of running waits for the first before `in-use`.
DEFAULT_COMMIT_WAIT = 10.0


class Snapshot:
    """One datastore's content, never changed once made. Owns its tree (freed with it)."""

    __slots__ = ("schema", "tree", "xml")

    def __init__(self, schema: Schema, xml: str = "", tree: libyang.DNode | None = None) -> None:
        self.schema = schema
        self.xml = xml
        self.tree = tree

    def __del__(self) -> None:
        if self.tree is not None:
            with self.schema.lock:
                self.tree.free()
            self.tree = None

    def print(self, with_defaults: str | None) -> str:
        flags = WITH_DEFAULTS[with_defaults]
        if flags == 0 or (self.tree is None and with_defaults in ("trim", "explicit")):
            return self.xml
        if self.tree is None:
            return _print_implicit(self.schema)
        with self.schema.lock:
            # Defaults are added to a copy: readers of this snapshot share its tree.
            copy = self.tree.first_sibling().duplicate(with_siblings=True, recursive=True)
            ptr = ffi.new("struct lyd_node **", copy.cdata)
            lib.lyd_new_implicit_all(
                ptr, self.schema.ctx.cdata, lib.LYD_IMPLICIT_NO_STATE, ffi.NULL
            )
            copy = libyang.DNode.new(self.schema.ctx, ptr[0])
            try:
                return _print(self.schema, copy, flags)
            finally:
                copy.free()


def _print(schema: Schema, tree: libyang.DNode | None, flags: int = 0) -> str:
    if tree is None:
        return ""
    buf = ffi.new("char **")
    first = tree.first_sibling()
    lib.lyd_print_mem(
        buf, first.cdata, lib.LYD_XML, flags | lib.LYD_PRINT_WITHSIBLINGS | lib.LYD_PRINT_SHRINK
    )
    if buf[0] == ffi.NULL:
        return ""
    try:
        return ffi.string(buf[0]).decode()
    finally:
        lib.free(buf[0])


def _print_implicit(schema: Schema) -> str:
    """The default-only content of an empty datastore (for report-all)."""
    ptr = ffi.new("struct lyd_node **", ffi.NULL)
    lib.lyd_new_implicit_all(ptr, schema.ctx.cdata, lib.LYD_IMPLICIT_NO_STATE, ffi.NULL)
    if ptr[0] == ffi.NULL:
        return ""
    tree = libyang.DNode.new(schema.ctx, ptr[0])
    try:
        return _print(schema, tree, lib.LYD_PRINT_WD_ALL_TAG)
    finally:
        tree.free()


class Datastores:
    def __init__(
        self,
        schema: Schema,
        state_dir: Path,
        pipeline: CommitPipeline,
        *,
        commit_wait: float = DEFAULT_COMMIT_WAIT,
    ) -> None:
        self.schema = schema
        self.state_dir = Path(state_dir)
        self.pipeline = pipeline
        self.commit_wait = commit_wait
        self.engine = EditEngine(schema)
        self.locks = LockTable()
        self.journal = Journal(self.state_dir / "commit-journal")
        # Short: candidate/startup swaps and the lock table. Never held over kernel work.
        self._edit_lock = threading.RLock()
        # One writer of running at a time, for the whole commit transaction.
        self._commit_lock = threading.RLock()
        self._depth = threading.local()
        self._unpublished: list[Plan] = []
        empty = Snapshot(schema)
        self.contents: dict[str, Snapshot] = dict.fromkeys(DATASTORES, empty)
        self.candidate_dirty = False
        self.lock_times: dict[str, datetime] = {}
        self.cut_commit: CutCommit | None = None
        self._load()

    # ---- paths and boot ---------------------------------------------------------------

    def _file(self, name: str) -> Path:
        return self.state_dir / f"{name}.xml"

    @property
    def rollback_file(self) -> Path:
        return self.state_dir / "confirmed-commit-rollback.xml"

    def _load(self) -> None:
        startup = read_or_empty(self._file("startup"))
        self.contents["startup"] = self._checked(startup, "startup.xml")
        pending = self.rollback_file.exists()
        # A confirmed commit that was never confirmed must not survive a restart (RFC 6241 8.4).
        source = self.rollback_file if pending else self._file("running")
        if source.exists():
            running = read_or_empty(source)
        else:
            running = startup
        snapshot = self._checked(running, source.name)
        self.contents["running"] = snapshot
        self.cut_commit = self.journal.read()
        if self.cut_commit is not None:
            side = self.cut_commit.outcome(snapshot.xml)
            log.warning(
                "the last commit was cut after %d of %d steps; its running %s durable, so the "
                "node converges to the %s running",
                len(self.cut_commit.finished),
                len(self.cut_commit.steps),
                "was" if side == "new" else "was not",
                side,
            )
        if pending:
            atomic_write(self._file("running"), snapshot.xml)
            remove(self.rollback_file)
            log.warning("restored running from an unconfirmed confirmed-commit")
        self._sync_candidate()

    def recovered(self) -> None:
        """The kernel matches running again (after a reconcile): forget the cut commit."""
        self.journal.clear()
        self.cut_commit = None

    def _checked(self, xml: str, origin: str) -> Snapshot:
        if not xml.strip():
            return Snapshot(self.schema)
        try:
            tree = self.schema.parse(xml, validate=True)
        except RpcErrors as exc:
            raise RuntimeError(f"{self.state_dir / origin} is not valid: {exc}") from None
        return Snapshot(self.schema, _print(self.schema, tree), tree)

    # ---- reading (no lock: snapshots are immutable) -------------------------------------

    def xml(self, name: str, with_defaults: str | None = None) -> str:
        return self.contents[name].print(with_defaults)

    def snapshot(self, name: str) -> Snapshot:
        return self.contents[name]

    # ---- the writer of running ----------------------------------------------------------

    @contextlib.contextmanager
    def writer(self, wait: float | None = -1) -> Iterator[None]:
        """Be the one writer of running. `wait` seconds at most (None: as long as it takes;
        -1: the configured commit wait), then `in-use`. Plans applied inside are published
        when the outermost writer leaves, outside the lock."""
        timeout = self.commit_wait if wait == -1 else wait
        got = self._commit_lock.acquire(timeout=-1 if timeout is None else timeout)
        if not got:
            raise RpcError(
                "in-use",
                "another commit is in progress on the running datastore; try again",
                ErrorType.PROTOCOL,
            )
        depth = getattr(self._depth, "n", 0)
        self._depth.n = depth + 1
        try:
            yield
        finally:
            self._depth.n = depth
            publish = []
            if depth == 0:
                publish, self._unpublished = self._unpublished, []
            self._commit_lock.release()
            for plan in publish:
                self.pipeline.publish(plan)

    # ---- writing ----------------------------------------------------------------------

    def edit(
        self,
        target: str,
        config: etree._Element,
        *,
        session_id: int,
        default_operation: str = "merge",
        test_option: str = "test-then-set",
    ) -> None:
        self._check_target(target, ("running", "candidate"), session_id)
        with self._writing(target):
            base = self._as_element(
                "" if default_operation == "replace" else self.contents[target].xml
            )
            self.engine.apply(
                base, config, "merge" if default_operation == "replace" else default_operation
            )
            new_xml = "".join(etree.tostring(el, encoding="unicode") for el in base)
            full = target == "running" or test_option == "test-only"
            tree = self.schema.parse(new_xml, validate=full)
            if test_option == "test-only":
                _free(self.schema, tree)
                return
            self._store(target, tree, session_id)

    def copy(self, source: str | etree._Element, target: str, *, session_id: int) -> None:
        self._check_target(target, DATASTORES, session_id)
        with self._writing(target):
            if isinstance(source, str):
                if source == target:
                    raise RpcError(
                        "invalid-value",
                        "source and target are the same datastore",
                        ErrorType.PROTOCOL,
                    )
                xml = self.contents[source].xml
            else:
                self.engine.apply(self._as_element(""), source, "merge")  # rejects unknown nodes
                xml = "".join(
                    etree.tostring(el, encoding="unicode")
                    for el in source
                    if isinstance(el.tag, str)
                )
            tree = self.schema.parse(xml, validate=target != "candidate") if xml else None
            self._store(target, tree, session_id)

    def delete(self, target: str, *, session_id: int) -> None:
        if target == "running":
            raise RpcError(
                "operation-not-supported",
                "the running datastore cannot be deleted; use edit-config or copy-config",
                ErrorType.PROTOCOL,
            )
        self._check_target(target, ("candidate", "startup"), session_id)
        with self._edit_lock:
            self._store(target, None, session_id)

    def discard_changes(self) -> None:
        with self._edit_lock:
            self._sync_candidate()

    def validate(self, source: str | etree._Element) -> Plan:
        """Full validation; returns the plan a commit of `source` would run now."""
        if isinstance(source, str):
            xml = self.contents[source].xml
        else:
            base = self._as_element("")
            self.engine.apply(base, source, "merge")
            xml = "".join(etree.tostring(el, encoding="unicode") for el in base)
        tree = self.schema.parse(xml, validate=True) if xml else None
        candidate = Snapshot(self.schema, xml, tree)
        running = self.contents["running"]
        try:
            plan = self.pipeline.plan(running.tree, candidate.tree)
        except PlanRefused as exc:
            raise self._refusal(exc, "validation refused") from exc
        plan.context["snapshots"] = (running, candidate)  # keeps both trees alive with it
        return plan

    def commit(self, *, session_id: int) -> Plan:
        """Copy candidate to running through the commit transaction."""
        with self.writer():
            self.locks.check_writable("running", session_id)
            self.locks.check_writable("candidate", session_id)
            candidate = self.contents["candidate"]
            tree = self.schema.parse(candidate.xml, validate=True) if candidate.xml else None
            return self._commit_tree(tree, from_candidate=candidate)

    def restore_running(self, xml: str) -> Plan:
        """Put an earlier running content back (confirmed-commit rollback)."""
        with self.writer(wait=None):
            tree = self.schema.parse(xml, validate=True) if xml else None
            plan = self._commit_tree(tree)
            with self._edit_lock:
                self._sync_candidate()
            return plan

    def session_ended(self, session_id: int) -> None:
        with self._edit_lock:
            released = self.locks.release_all(session_id)
            for name in released:
                self.lock_times.pop(name, None)
            if "candidate" in released:
                # RFC 6241 7.5: a candidate lock lost with its session discards its changes.
                self._sync_candidate()

    def lock_datastore(self, name: str, session_id: int) -> None:
        with self._edit_lock:
            if (
                name == "candidate"
                and self.candidate_dirty
                and self.locks.holder("candidate") is None
            ):
                raise RpcError(
                    "lock-denied",
                    "the candidate has uncommitted changes; commit or discard them first",
                    ErrorType.PROTOCOL,
                    info={"session-id": "0"},
                )
            self.locks.acquire(name, session_id)
            self.lock_times[name] = datetime.now(UTC)

    def unlock_datastore(self, name: str, session_id: int) -> None:
        with self._edit_lock:
            self.locks.release(name, session_id)
            self.lock_times.pop(name, None)

    # ---- internals --------------------------------------------------------------------

    def _writing(self, target: str) -> contextlib.AbstractContextManager:
        return self.writer() if target == "running" else self._edit_lock

    def _check_target(self, target: str, allowed: tuple[str, ...], session_id: int) -> None:
        if target not in allowed:
            raise RpcError(
                "invalid-value",
                f"'{target}' cannot be the target of this operation",
                ErrorType.PROTOCOL,
            )
        self.locks.check_writable(target, session_id)

    def _as_element(self, xml: str) -> etree._Element:
        return parse_xml(f"<data>{xml}</data>")

    def _store(self, target: str, tree: libyang.DNode | None, session_id: int) -> None:
        if target == "running":
            self.locks.check_writable("running", session_id)
            self._commit_tree(tree)
            return
        snapshot = Snapshot(self.schema, _print(self.schema, tree), tree)
        if target == "startup":
            atomic_write(self._file("startup"), snapshot.xml)
        self.contents[target] = snapshot
        if target == "candidate":
            self.candidate_dirty = snapshot.xml != self.contents["running"].xml

    def _refusal(self, exc: PlanRefused, what: str) -> RpcError:
        path, nsmap = self.schema.xpath(exc.path) if exc.path else (None, {})
        return RpcError(
            exc.tag,
            f"{what}: {exc}",
            ErrorType.APPLICATION,
            path=path,
            path_nsmap=nsmap,
            app_tag=exc.app_tag,
        )

    def _commit_tree(
        self, tree: libyang.DNode | None, from_candidate: Snapshot | None = None
    ) -> Plan:
        """The commit transaction. The caller is the writer (holds `writer()`)."""
        old = self.contents["running"]
        new = Snapshot(self.schema, _print(self.schema, tree), tree)
        try:
            plan = self.pipeline.plan(old.tree, new.tree)
        except PlanRefused as exc:
            raise self._refusal(exc, "commit refused") from exc
        plan.context["snapshots"] = (old, new)
        if not plan.changes and new.xml == old.xml:
            self._swap(new, from_candidate)
            return plan
        self.journal.begin(previous_xml=old.xml, target_xml=new.xml, steps=plan.describe())
        try:
            done = self.pipeline.execute(plan, self.journal.step_done)
        except PlanFailed as exc:
            self.journal.clear()
            message = f"commit failed: {exc}; every completed step was undone"
            if exc.rollback_errors:
                message += "; but undoing failed for: " + "; ".join(exc.rollback_errors)
            raise RpcError("operation-failed", message, ErrorType.APPLICATION) from exc
        try:
            atomic_write(self._file("running"), new.xml)
        except OSError as exc:
            why = f"cannot save the running configuration: {exc.strerror or exc}"
            errors = self.pipeline.rollback(done)
            self.pipeline.failed(plan, why)
            self.journal.clear()
            message = f"commit failed: {why}; every completed step was undone"
            if errors:
                message += "; but undoing failed for: " + "; ".join(errors)
            raise RpcError("operation-failed", message, ErrorType.APPLICATION) from exc
        kill_point("persisted")
        self._swap(new, from_candidate)
        self.journal.clear()
        self.pipeline.adopt(plan)
        self._unpublished.append(plan)
        return plan

    def _swap(self, running: Snapshot, from_candidate: Snapshot | None) -> None:
        with self._edit_lock:
            self.contents["running"] = running
            candidate = self.contents["candidate"]
            if from_candidate is not None and candidate is from_candidate:
                self.contents["candidate"] = running  # committed: the candidate is running now
                self.candidate_dirty = False
            elif not self.candidate_dirty:
                self._sync_candidate()
            else:
                self.candidate_dirty = candidate.xml != running.xml

    def _sync_candidate(self) -> None:
        self.contents["candidate"] = self.contents["running"]
        self.candidate_dirty = False


def _free(schema: Schema, tree: libyang.DNode | None) -> None:
    if tree is not None:
        with schema.lock:
            tree.free()
