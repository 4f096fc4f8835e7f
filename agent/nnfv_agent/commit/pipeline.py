"""validate -> plan -> apply -> persist.

The datastore calls `CommitPipeline.apply` with the old and the new running tree. The pipeline
turns their diff into a plan of operations by asking registered planners, runs the plan through
its executor (which undoes finished steps in reverse when a step fails), and only then does the
datastore persist and publish the new running content.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import libyang

from .changes import Change, diff

log = logging.getLogger(__name__)


@dataclass
class Operation:
    """One abstract step of a plan (createLSI, startNF, ...)."""

    name: str
    target: str
    # None for operations carried out by a later batch operation (steering rules).
    do: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    undo: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    # Consecutive operations of one group are independent and run concurrently
    # (the lifecycle scripts of different NF instances).
    group: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        return f"{self.name} {self.target}"


@dataclass
class Plan:
    changes: list[Change]
    operations: list[Operation]
    old_xml: str = ""
    new_xml: str = ""

    def describe(self) -> list[str]:
        return [op.describe() for op in self.operations]


# A planner gets the old and the new running content (canonical XML) and returns operations.
Planner = Callable[[str, str], list[Operation]]


def _batches(ops: list[Operation]) -> list[list[Operation]]:
    out: list[list[Operation]] = []
    for op in ops:
        if out and op.group is not None and out[-1][0].group == op.group:
            out[-1].append(op)
        else:
            out.append([op])
    return out


def _timed(op: Operation) -> None:
    started = time.monotonic()
    op.do()
    log.debug("%s took %.1f ms", op.describe(), (time.monotonic() - started) * 1000)


def _run_batch(batch: list[Operation]) -> tuple[list[Operation], tuple | None]:
    """Run one operation, or a group concurrently; return what finished and the first failure."""
    if len(batch) == 1:
        try:
            _timed(batch[0])
        except Exception as exc:  # noqa: BLE001 - reported by the caller as PlanFailed
            return [], (batch[0], exc)
        return batch, None
    with ThreadPoolExecutor(max_workers=min(4, len(batch)), thread_name_prefix="plan") as pool:
        futures = [(op, pool.submit(_timed, op)) for op in batch]
    finished, failed = [], None
    for op, future in futures:
        exc = future.exception()
        if exc is None:
            finished.append(op)
        elif failed is None:
            failed = (op, exc)
    return finished, failed


class PlanRefused(Exception):
    """The new configuration cannot be deployed here; nothing was touched."""

    def __init__(self, message: str, tag: str = "operation-failed") -> None:
        super().__init__(message)
        self.tag = tag


class PlanFailed(Exception):
    def __init__(
        self, operation: Operation, cause: BaseException, rollback_errors: list[str]
    ) -> None:
        super().__init__(f"{operation.describe()} failed: {cause}")
        self.operation = operation
        self.cause = cause
        self.rollback_errors = rollback_errors


class CommitPipeline:
    def __init__(self) -> None:
        self.planners: list[Planner] = []
        self.observers: list[Callable[[Plan], None]] = []
        self.failure_observers: list[Callable[[Plan, str], None]] = []

    def register(self, planner: Planner) -> None:
        self.planners.append(planner)

    def observe_failure(self, observer: Callable[[Plan, str], None]) -> None:
        """Call `observer` with the reason after a plan failed (and was undone)."""
        self.failure_observers.append(observer)

    def observe(self, observer: Callable[[Plan], None]) -> None:
        """Call `observer` after every plan that was applied (and before it is persisted)."""
        self.observers.append(observer)

    def plan(
        self, old: libyang.DNode | None, new: libyang.DNode | None, old_xml: str, new_xml: str
    ) -> Plan:
        changes = diff(old, new)
        operations: list[Operation] = []
        if changes:
            for planner in self.planners:
                operations.extend(planner(old_xml, new_xml))
        return Plan(changes, operations, old_xml, new_xml)

    def execute(self, plan: Plan) -> None:
        done: list[Operation] = []
        for batch in _batches([op for op in plan.operations if op.do is not None]):
            finished, failed = _run_batch(batch)
            done.extend(finished)
            if failed is not None:
                op, exc = failed
                failure = PlanFailed(op, exc, self._undo(done))
                self._notify(self.failure_observers, plan, str(failure))
                raise failure from exc
        self._notify(self.observers, plan)

    @staticmethod
    def _notify(observers: list, *args: object) -> None:
        for observer in observers:
            try:
                observer(*args)
            except Exception:  # an observer must never change the outcome of a commit
                log.exception("commit observer failed")

    @staticmethod
    def _undo(done: list[Operation]) -> list[str]:
        errors = []
        for op in reversed(done):
            if op.undo is None:
                continue
            try:
                op.undo()
            except Exception as exc:  # noqa: BLE001 - keep undoing, then report every failure
                log.error("rollback of %s failed: %s", op.describe(), exc)
                errors.append(f"{op.describe()}: {exc}")
        return errors
