"""validate -> plan -> apply -> persist.

The datastore calls `CommitPipeline.apply` with the old and the new running tree. The pipeline
turns their diff into a plan of operations by asking registered planners, runs the plan through
its executor (which undoes finished steps in reverse when a step fails), and only then does the
datastore persist and publish the new running content.
"""

from __future__ import annotations

import logging
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
    do: Callable[[], None] = field(repr=False, compare=False)
    undo: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        return f"{self.name} {self.target}"


@dataclass
class Plan:
    changes: list[Change]
    operations: list[Operation]

    def describe(self) -> list[str]:
        return [op.describe() for op in self.operations]


# A planner gets the changes and both trees, and returns the operations it needs.
Planner = Callable[[list[Change], "libyang.DNode | None", "libyang.DNode | None"], list[Operation]]


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

    def register(self, planner: Planner) -> None:
        self.planners.append(planner)

    def plan(self, old: libyang.DNode | None, new: libyang.DNode | None) -> Plan:
        changes = diff(old, new)
        operations: list[Operation] = []
        if changes:
            for planner in self.planners:
                operations.extend(planner(changes, old, new))
        return Plan(changes, operations)

    def execute(self, plan: Plan) -> None:
        done: list[Operation] = []
        for op in plan.operations:
            try:
                op.do()
            except Exception as exc:
                raise PlanFailed(op, exc, self._undo(done)) from exc
            done.append(op)

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
