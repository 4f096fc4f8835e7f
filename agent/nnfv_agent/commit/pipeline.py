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
        for op in plan.operations:
            if op.do is None:
                continue
            started = time.monotonic()
            try:
                op.do()
            except Exception as exc:
                failure = PlanFailed(op, exc, self._undo(done))
                self._notify(self.failure_observers, plan, str(failure))
                raise failure from exc
            done.append(op)
            log.debug("%s took %.1f ms", op.describe(), (time.monotonic() - started) * 1000)
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
