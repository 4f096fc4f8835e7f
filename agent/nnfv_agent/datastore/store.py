"""running, candidate and startup: edits, copies, commits and their persistence.

Every datastore holds one canonical XML text (as printed by libyang) and its libyang tree.
All mutations run under one lock, and each either fully succeeds or leaves every datastore as it
was.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import libyang
from _libyang import ffi, lib
from lxml import etree

from ..commit.pipeline import CommitPipeline, Plan, PlanFailed, PlanRefused
from ..netconf.errors import ErrorType, RpcError, RpcErrors
from ..netconf.xml import parse as parse_xml
from .edit import EditEngine
from .locks import LockTable
from .persist import (
    DamagedStateError,
    read_state,
    remove,
    remove_stale_temporaries,
    write_state,
)
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


class Content:
    """One datastore's content. `tree` is owned here and freed when replaced."""

    def __init__(self, schema: Schema, xml: str = "", tree: libyang.DNode | None = None) -> None:
        self.schema = schema
        self.xml = xml
        self.tree = tree

    def replace(self, xml: str, tree: libyang.DNode | None) -> None:
        old = self.tree
        self.xml, self.tree = xml, tree
        if old is not None and old is not tree:
            with self.schema.lock:
                old.free()

    def print(self, with_defaults: str | None) -> str:
        flags = WITH_DEFAULTS[with_defaults]
        if flags == 0 or (self.tree is None and with_defaults in ("trim", "explicit")):
            return self.xml
        with self.schema.lock:
            tree = self.tree
            if tree is None:
                return _print_implicit(self.schema)
            ptr = ffi.new("struct lyd_node **", tree.first_sibling().cdata)
            lib.lyd_new_implicit_all(
                ptr, self.schema.ctx.cdata, lib.LYD_IMPLICIT_NO_STATE, ffi.NULL
            )
            self.tree = libyang.DNode.new(self.schema.ctx, ptr[0])
            return _print(self.schema, self.tree, flags)


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
    def __init__(self, schema: Schema, state_dir: Path, pipeline: CommitPipeline) -> None:
        self.schema = schema
        self.state_dir = Path(state_dir)
        self.pipeline = pipeline
        self.engine = EditEngine(schema)
        self.locks = LockTable()
        self.lock = threading.RLock()
        self.contents = {name: Content(schema) for name in DATASTORES}
        self.candidate_dirty = False
        self.lock_times: dict[str, datetime] = {}
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
        self.contents["startup"].replace(*self._checked(startup or "", "startup.xml"))
        pending = self.rollback_file.exists()
        # A confirmed commit that was never confirmed must not survive a restart (RFC 6241 8.4).
        source = self.rollback_file if pending else self._file("running")
        running = self._read_state(source, use_previous=not pending)
        if running is None:
            running = startup or ""
        xml, tree = self._checked(running, source.name)
        self.contents["running"].replace(xml, tree)
        if pending:
            write_state(self._file("running"), xml)
            remove(self.rollback_file)
            log.warning("restored running from an unconfirmed confirmed-commit")
        self._sync_candidate()

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

    def _checked(self, xml: str, origin: str) -> tuple[str, libyang.DNode | None]:
        if not xml.strip():
            return "", None
        try:
            tree = self.schema.parse(xml, validate=True)
        except RpcErrors as exc:
            raise RuntimeError(f"{self.state_dir / origin} is not valid: {exc}") from None
        return _print(self.schema, tree), tree

    # ---- reading ----------------------------------------------------------------------

    def xml(self, name: str, with_defaults: str | None = None) -> str:
        with self.lock:
            return self.contents[name].print(with_defaults)

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
        with self.lock:
            self._check_target(target, ("running", "candidate"), session_id)
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
            self._store(target, tree)

    def copy(self, source: str | etree._Element, target: str, *, session_id: int) -> None:
        with self.lock:
            self._check_target(target, DATASTORES, session_id)
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
            self._store(target, tree)

    def delete(self, target: str, *, session_id: int) -> None:
        with self.lock:
            if target == "running":
                raise RpcError(
                    "operation-not-supported",
                    "the running datastore cannot be deleted; use edit-config or copy-config",
                    ErrorType.PROTOCOL,
                )
            self._check_target(target, ("candidate", "startup"), session_id)
            self._store(target, None)

    def discard_changes(self) -> None:
        with self.lock:
            self._sync_candidate()

    def validate(self, source: str | etree._Element) -> Plan:
        """Full validation; returns the plan a commit of `source` would run now."""
        with self.lock:
            if isinstance(source, str):
                xml = self.contents[source].xml
            else:
                base = self._as_element("")
                self.engine.apply(base, source, "merge")
                xml = "".join(etree.tostring(el, encoding="unicode") for el in base)
            tree = self.schema.parse(xml, validate=True) if xml else None
            running = self.contents["running"]
            try:
                return self.pipeline.plan(
                    running.tree, tree, running.xml, _print(self.schema, tree)
                )
            except PlanRefused as exc:
                raise RpcError(
                    exc.tag, f"validation refused: {exc}", ErrorType.APPLICATION
                ) from exc
            finally:
                _free(self.schema, tree)

    def commit(self, *, session_id: int) -> Plan:
        """Copy candidate to running through the pipeline."""
        with self.lock:
            self.locks.check_writable("running", session_id)
            self.locks.check_writable("candidate", session_id)
            xml = self.contents["candidate"].xml
            tree = self.schema.parse(xml, validate=True) if xml else None
            return self._commit_tree(tree)

    def restore_running(self, xml: str) -> Plan:
        """Put an earlier running content back, through the pipeline (confirmed-commit rollback)."""
        with self.lock:
            tree = self.schema.parse(xml, validate=True) if xml else None
            plan = self._commit_tree(tree)
            self._sync_candidate()
            return plan

    def session_ended(self, session_id: int) -> None:
        with self.lock:
            released = self.locks.release_all(session_id)
            for name in released:
                self.lock_times.pop(name, None)
            if "candidate" in released:
                # RFC 6241 7.5: a candidate lock lost with its session discards its changes.
                self._sync_candidate()

    def lock_datastore(self, name: str, session_id: int) -> None:
        with self.lock:
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
        with self.lock:
            self.locks.release(name, session_id)
            self.lock_times.pop(name, None)

    # ---- internals --------------------------------------------------------------------

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

    def _store(self, target: str, tree: libyang.DNode | None) -> None:
        if target == "running":
            self._commit_tree(tree)
            return
        xml = _print(self.schema, tree)
        if target == "startup":
            write_state(self._file("startup"), xml)
        self.contents[target].replace(xml, tree)
        if target == "candidate":
            self.candidate_dirty = xml != self.contents["running"].xml

    def _commit_tree(self, tree: libyang.DNode | None) -> Plan:
        running = self.contents["running"]
        xml = _print(self.schema, tree)
        try:
            plan = self.pipeline.plan(running.tree, tree, running.xml, xml)
        except PlanRefused as exc:
            _free(self.schema, tree)
            raise RpcError(exc.tag, f"commit refused: {exc}", ErrorType.APPLICATION) from exc
        try:
            self.pipeline.execute(plan)
        except PlanFailed as exc:
            _free(self.schema, tree)
            message = f"commit failed: {exc}; every completed step was undone"
            if exc.rollback_errors:
                message += "; but undoing failed for: " + "; ".join(exc.rollback_errors)
            raise RpcError("operation-failed", message, ErrorType.APPLICATION) from exc
        write_state(self._file("running"), xml)
        running.replace(xml, tree)
        if not self.candidate_dirty:
            self._sync_candidate()
        elif self.contents["candidate"].xml == xml:
            self.candidate_dirty = False
        return plan

    def _sync_candidate(self) -> None:
        running = self.contents["running"]
        tree = (
            running.tree.first_sibling().duplicate(with_siblings=True, recursive=True)
            if running.tree is not None
            else None
        )
        self.contents["candidate"].replace(running.xml, tree)
        self.candidate_dirty = False


def _free(schema: Schema, tree: libyang.DNode | None) -> None:
    if tree is not None:
        with schema.lock:
            tree.free()
