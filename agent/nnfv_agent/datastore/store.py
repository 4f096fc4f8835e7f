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
import errno
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import libyang
from lxml import etree

from ..commit.journal import CutCommit, Journal
from ..commit.pipeline import CommitPipeline, Plan, PlanFailed, PlanRefused, kill_point
from ..errors import AgentError, AgentErrors, Kind, Scope
from ..fsutil import remove
from ..xmlutil import parse as parse_xml
from .edit import EditEngine, edited_graphs
from .locks import LockTable
from .persist import DamagedStateError, read_state, remove_stale_temporaries, write_state
from .schema import Schema
from .snapshot import Snapshot, split

log = logging.getLogger(__name__)

DATASTORES = ("running", "candidate", "startup")
# Called with (the datastore's content now, what a write would make it) before the write is
# stored or committed; raises to refuse the write (access control: nothing is applied).
WriteGuard = Callable[["Snapshot", "Snapshot"], None]
# How long a second writer of running waits for the first before `in-use`.
DEFAULT_COMMIT_WAIT = 10.0


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
        # Damaged state files are never read as empty: read_state falls back to the last
        # intact generation (noted in self.recovered) or raises DamagedStateError.
        self.recovered: list[tuple[str, str]] = []  # (file, what happened)
        remove_stale_temporaries(self.state_dir)  # before anything here writes
        startup = self._read_state(self._file("startup"))
        self.contents["startup"] = self._checked(startup or "", "startup.xml")
        pending = self.rollback_file.exists()
        # A confirmed commit that was never confirmed must not survive a restart (RFC 6241 8.4).
        source = self.rollback_file if pending else self._file("running")
        running = self._read_state(source, use_previous=not pending)
        if running is None:
            running = startup or ""
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
            write_state(self._file("running"), snapshot.xml)
            remove(self.rollback_file)
            log.warning("restored running from an unconfirmed confirmed-commit")
        self._sync_candidate()

    def recovery_done(self) -> None:
        """The kernel matches running again (after a reconcile): forget the cut commit."""
        self.journal.clear()
        self.cut_commit = None

    def _read_state(self, path: Path, *, use_previous: bool = True) -> str | None:
        try:
            found = read_state(path, use_previous=use_previous)
        except DamagedStateError as exc:
            raise RuntimeError(str(exc)) from None
        if found is None:
            return None
        if found.recovered_from is not None:
            self.recovered.append(
                (
                    path.name,
                    f"{path.name} was damaged ({found.damage}); started from its last intact "
                    f"generation {found.recovered_from.name}",
                )
            )
        return found.text

    def _checked(self, xml: str, origin: str) -> Snapshot:
        if not xml.strip():
            return Snapshot(self.schema)
        try:
            tree = self.schema.parse(xml, validate=True)
        except AgentErrors as exc:
            raise RuntimeError(f"{self.state_dir / origin} is not valid: {exc}") from None
        return Snapshot.from_tree(self.schema, tree, touched=frozenset())

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
            raise AgentError(
                "another commit is in progress on the running datastore; try again",
                kind=Kind.IN_USE,
                scope=Scope.REQUEST,
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
        guard: WriteGuard | None = None,
    ) -> None:
        self._check_target(target, ("running", "candidate"), session_id)
        with self._writing(target):
            current = self.contents[target]
            names = None if test_option == "test-only" else edited_graphs(config, default_operation)
            if names is not None:
                edited = self._edited_graphs(current, config, names, default_operation)
                if guard is not None:
                    guard(current, edited)
                self._store(target, edited, session_id)
                return
            base = self._as_element("" if default_operation == "replace" else current.xml)
            self.engine.apply(
                base, config, "merge" if default_operation == "replace" else default_operation
            )
            full = target == "running" or test_option == "test-only"
            tree = self.schema.parse(_serialize(base), validate=full)
            snapshot = Snapshot.from_tree(self.schema, tree, valid=full, touched=None)
            if guard is not None:
                guard(current, snapshot)
            if test_option == "test-only":
                return
            self._store(target, snapshot, session_id)

    def _edited_graphs(
        self, current: Snapshot, config: etree._Element, names: set[str], default_operation: str
    ) -> Snapshot:
        """The edit applied to the named graphs and the tops only: its cost is the edit's."""
        base = self._as_element(current.partial_xml(names))
        self.engine.apply(base, config, default_operation)
        xml = _serialize(base)
        tree = self.schema.parse(xml, validate=False) if xml else None
        try:
            graphs, tops = split(tree)
        finally:
            _free(self.schema, tree)
        touched = None if current.touched is None else current.touched | names
        return current.replaced(
            {n: graphs.get(n) for n in names}, tops, valid=False, touched=touched
        )

    def copy(
        self,
        source: str | etree._Element,
        target: str,
        *,
        session_id: int,
        guard: WriteGuard | None = None,
    ) -> None:
        self._check_target(target, DATASTORES, session_id)
        with self._writing(target):
            if isinstance(source, str):
                if source == target:
                    raise AgentError(
                        "source and target are the same datastore",
                        kind=Kind.INVALID_VALUE,
                        scope=Scope.REQUEST,
                    )
                xml = self.contents[source].xml
            else:
                self.engine.apply(self._as_element(""), source, "merge")  # rejects unknown nodes
                xml = "".join(
                    etree.tostring(el, encoding="unicode")
                    for el in source
                    if isinstance(el.tag, str)
                )
            valid = target != "candidate"
            tree = self.schema.parse(xml, validate=valid) if xml else None
            snapshot = Snapshot.from_tree(self.schema, tree, valid=valid, touched=None)
            if guard is not None:
                guard(self.contents[target], snapshot)
            self._store(target, snapshot, session_id)

    def delete(self, target: str, *, session_id: int, guard: WriteGuard | None = None) -> None:
        if target == "running":
            raise AgentError(
                "the running datastore cannot be deleted; use edit-config or copy-config",
                kind=Kind.OPERATION_NOT_SUPPORTED,
                scope=Scope.REQUEST,
            )
        self._check_target(target, ("candidate", "startup"), session_id)
        with self._edit_lock:
            empty = Snapshot(self.schema, touched=None)
            if guard is not None:
                guard(self.contents[target], empty)
            self._store(target, empty, session_id)

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
            xml = _serialize(base)
        tree = self.schema.parse(xml, validate=True) if xml else None
        candidate = Snapshot.from_tree(self.schema, tree)
        running = self.contents["running"]
        try:
            plan = self.pipeline.plan(running.tree, candidate.tree)
        except PlanRefused as exc:
            raise self._refusal(exc, "validation refused") from exc
        plan.context["snapshots"] = (running, candidate)  # keeps both trees alive with it
        return plan

    def commit(self, *, session_id: int, guard: WriteGuard | None = None) -> Plan:
        """Copy candidate to running through the commit transaction."""
        with self.writer():
            self.locks.check_writable("running", session_id)
            self.locks.check_writable("candidate", session_id)
            candidate = self.contents["candidate"]
            if guard is not None:
                guard(self.contents["running"], candidate)
            return self._commit(candidate, from_candidate=candidate)

    def restore_running(self, xml: str) -> Plan:
        """Put an earlier running content back (confirmed-commit rollback)."""
        with self.writer(wait=None):
            tree = self.schema.parse(xml, validate=True) if xml else None
            plan = self._commit(Snapshot.from_tree(self.schema, tree, touched=None))
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
                raise AgentError(
                    "the candidate has uncommitted changes; commit or discard them first",
                    kind=Kind.LOCK_DENIED,
                    scope=Scope.REQUEST,
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
            raise AgentError(
                f"'{target}' cannot be the target of this operation",
                kind=Kind.INVALID_VALUE,
                scope=Scope.REQUEST,
            )
        self.locks.check_writable(target, session_id)

    def _as_element(self, xml: str) -> etree._Element:
        return parse_xml(f"<data>{xml}</data>")

    def _store(self, target: str, snapshot: Snapshot, session_id: int) -> None:
        if target == "running":
            self.locks.check_writable("running", session_id)
            self._commit(snapshot)
            return
        if target == "startup":
            write_state(self._file("startup"), snapshot.xml)
        self.contents[target] = snapshot
        if target == "candidate":
            self.candidate_dirty = not snapshot.same_content(self.contents["running"])

    def _refusal(self, exc: PlanRefused, what: str) -> AgentError:
        path, nsmap = self.schema.xpath(exc.ly_path) if exc.ly_path else (None, {})
        return AgentError(
            f"{what}: {exc}", kind=exc.kind, path=path, path_nsmap=nsmap, app_tag=exc.app_tag
        )

    def _commit(self, target: Snapshot, from_candidate: Snapshot | None = None) -> Plan:
        """The commit transaction. The caller is the writer (holds `writer()`)."""
        old = self.contents["running"]
        step = self._validated(old, target)
        new, changed = step.running, step.changed
        try:
            plan = self.pipeline.plan(step.old_tree, step.new_tree)
        except PlanRefused as exc:
            raise self._refusal(exc, "commit refused") from exc
        plan.context["snapshots"] = (old, new, target, *step.owners)
        if not plan.changes and new.same_content(old):
            self._swap(new, from_candidate, changed)
            return plan
        self.journal.begin(previous_xml=old.xml, target_xml=new.xml, steps=plan.describe())
        try:
            done = self.pipeline.execute(plan, self.journal.step_done)
        except PlanFailed as exc:
            self.journal.clear()
            message = f"commit failed: {exc}; every completed step was undone"
            if exc.rollback_errors:
                message += "; but undoing failed for: " + "; ".join(exc.rollback_errors)
            raise AgentError(message, kind=exc.kind, app_tag=exc.app_tag) from exc
        try:
            write_state(self._file("running"), new.xml)
        except OSError as exc:
            why = f"cannot save the running configuration: {exc}"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                why = f"the agent's disk is full: {why}"
            errors = self.pipeline.rollback(done)
            self.pipeline.failed(plan, why)
            self.journal.clear()
            message = f"commit failed: {why}; every completed step was undone"
            if errors:
                message += "; but undoing failed for: " + "; ".join(errors)
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            tag = "resource-denied" if full else "operation-failed"
            raise AgentError(message, kind=Kind(tag)) from exc
        kill_point("persisted")
        self._swap(new, from_candidate, changed)
        self.journal.clear()
        self.pipeline.adopt(plan)
        self._unpublished.append(plan)
        return plan

    def _validated(self, old: Snapshot, target: Snapshot) -> _Validated:
        """The new running (validated) and the two trees to diff and plan with.

        When `target` says which graphs it changed and the other top-level nodes are
        unchanged, only those graphs are parsed, validated and diffed: the two trees hold the
        tops and the changed graphs. Otherwise the whole content is (`changed` is None).
        """
        if target.touched is not None and target.tops == old.tops:
            changed = frozenset(
                n for n in target.touched if old.graphs.get(n) != target.graphs.get(n)
            )
            old_part = self._parse_part(old, changed)
            new_part = self._parse_part(target, changed)
            graphs, _tops = split(new_part.tree)
            new = old.replaced({n: graphs.get(n) for n in changed}, old.tops, touched=frozenset())
            return _Validated(new, old_part.tree, new_part.tree, changed, (old_part, new_part))
        tree = self.schema.parse(target.xml, validate=True) if target.xml else None
        new = Snapshot.from_tree(self.schema, tree, touched=frozenset())
        return _Validated(new, old.tree, new.tree, None, ())

    def _parse_part(self, snapshot: Snapshot, names: frozenset[str]) -> Snapshot:
        xml = snapshot.partial_xml(names)
        tree = self.schema.parse(xml, validate=True) if xml else None
        return Snapshot.from_tree(self.schema, tree)

    def _swap(
        self, running: Snapshot, from_candidate: Snapshot | None, changed: frozenset[str] | None
    ) -> None:
        with self._edit_lock:
            self.contents["running"] = running
            candidate = self.contents["candidate"]
            if from_candidate is not None and candidate is from_candidate:
                self.contents["candidate"] = running  # committed: the candidate is running now
                self.candidate_dirty = False
            elif not self.candidate_dirty:
                self._sync_candidate()
            else:
                # Running moved under a dirty candidate: the graphs it changed now differ too.
                touched = (
                    None
                    if candidate.touched is None or changed is None
                    else candidate.touched | changed
                )
                self.contents["candidate"] = candidate.with_touched(touched)
                self.candidate_dirty = not candidate.same_content(running)

    def _sync_candidate(self) -> None:
        self.contents["candidate"] = self.contents["running"]
        self.candidate_dirty = False


@dataclass(frozen=True)
class _Validated:
    running: Snapshot
    old_tree: libyang.DNode | None
    new_tree: libyang.DNode | None
    changed: frozenset[str] | None
    owners: tuple[Snapshot, ...]  # keep the partial trees alive as long as the plan


def _serialize(data: etree._Element) -> str:
    return "".join(etree.tostring(el, encoding="unicode") for el in data)


def _free(schema: Schema, tree: libyang.DNode | None) -> None:
    if tree is not None:
        with schema.lock:
            tree.free()
