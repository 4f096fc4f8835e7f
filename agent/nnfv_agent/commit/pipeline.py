"""plan -> journal -> apply -> (the datastore persists and swaps) -> adopt -> publish.

The datastore hands `CommitPipeline.plan` the old and the new running tree. libyang's diff
gives the typed changes; the registry turns them into what they affect; checks and planners
read only those parts of the trees and return operations. `execute` runs them through the
executor, which undoes finished steps in reverse when one fails. After the datastore has made
the new running durable and swapped its snapshot, `adopt` lets planners keep their view of
what is deployed, and `publish` tells observers, outside every lock.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import libyang

from ..errors import AgentError, Kind
from .changes import Change, diff
from .registry import REGISTRY, Affected, Handler, UnmappedChange, classify

log = logging.getLogger(__name__)

# What an operation does, or undoes: a driver call with its arguments bound.
Step = Callable[[], None]


@dataclass
class Operation:
    """One abstract step of a plan (createLSI, startNF, ...)."""

    name: str
    target: str
    # None for operations carried out by a later batch operation (steering rules).
    do: Step | None = field(default=None, repr=False, compare=False)
    undo: Step | None = field(default=None, repr=False, compare=False)
    # Consecutive operations of one group are independent and run concurrently
    # (the lifecycle scripts of different NF instances).
    group: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        return f"{self.name} {self.target}"


@dataclass
class Plan:
    """One commit's changes, what they affect, and its operations.

    `old` and `new` are the two running trees; they belong to the datastore, and planners
    only read them (by key) while the plan is being built. `context` holds what a planner
    computed for this plan and adopts once the commit is durable.
    """

    changes: list[Change]
    operations: list[Operation]
    affected: Affected = field(default_factory=Affected)
    old: libyang.DNode | None = field(default=None, repr=False)
    new: libyang.DNode | None = field(default=None, repr=False)
    context: dict[str, Any] = field(default_factory=dict, repr=False)

    def describe(self) -> list[str]:
        return [op.describe() for op in self.operations]

    def steps(self) -> list[Operation]:
        return [op for op in self.operations if op.do is not None]


class Planner(Protocol):
    """Turns the affected parts of a commit into operations; pure until they are executed."""

    def plan(self, plan: Plan) -> list[Operation]: ...

    def adopt(self, plan: Plan) -> None:
        """The plan was applied and its running is durable: it is now what is deployed."""


# A check reads the plan's changes and raises PlanRefused; it runs in every data-plane mode.
Check = Callable[[Plan], None]
Observer = Callable[[Plan], None]


def _batches(ops: list[Operation]) -> list[list[Operation]]:
    out: list[list[Operation]] = []
    for op in ops:
        if out and op.group is not None and out[-1][0].group == op.group:
            out[-1].append(op)
        else:
            out.append([op])
    return out


def _timed(op: Operation) -> None:
    if op.do is None:  # carried out by a later batch operation
        return
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
        error = future.exception()
        if error is None:
            finished.append(op)
        elif failed is None:
            failed = (op, error)
    return finished, failed


class PlanRefused(AgentError):
    """The new configuration cannot be deployed here; nothing was touched."""

    def __init__(
        self,
        message: str,
        tag: str = "operation-failed",
        *,
        path: str | None = None,
        app_tag: str | None = None,
    ) -> None:
        super().__init__(message, kind=Kind(tag), app_tag=app_tag)
        self.ly_path = path  # libyang data path of the offending node, for error-path


class PlanFailed(AgentError):
    """A step failed and the finished ones were undone. It carries the failing driver's kind
    and reason (a script's exit, a missing link) so the client is told what failed."""

    def __init__(
        self, operation: Operation, cause: BaseException, rollback_errors: list[str]
    ) -> None:
        super().__init__(
            f"{operation.describe()} failed: {cause}",
            kind=cause.kind if isinstance(cause, AgentError) else Kind.OPERATION_FAILED,
            app_tag=cause.app_tag if isinstance(cause, AgentError) else None,
        )
        self.operation = operation
        self.cause = cause
        self.rollback_errors = rollback_errors


# Fault injection for the crash tests: SIGKILL the agent after this many finished steps of
# a commit ("persisted": after the new running is durable, before the journal is cleared).
FAULT_KILL_AFTER = "NNFV_FAULT_KILL_AFTER_STEP"


def kill_point(reached: str) -> None:
    if os.environ.get(FAULT_KILL_AFTER) == reached:
        log.warning("fault injection: killing the agent at commit point %s", reached)
        os.kill(os.getpid(), signal.SIGKILL)


class CommitPipeline:
    def __init__(self, registry: dict[str, Handler] = REGISTRY) -> None:
        self.registry = registry
        self.planners: list[Planner] = []
        self.checks: list[Check] = []
        self.observers: list[Observer] = []
        self.failure_observers: list[Callable[[Plan, str], None]] = []

    def register(self, planner: Planner) -> None:
        self.planners.append(planner)

    def add_check(self, check: Check) -> None:
        self.checks.append(check)

    def observe_failure(self, observer: Callable[[Plan, str], None]) -> None:
        """Call `observer` with the reason after a plan failed (and was undone)."""
        self.failure_observers.append(observer)

    def observe(self, observer: Observer) -> None:
        """Call `observer` after every commit that is durable, outside every lock."""
        self.observers.append(observer)

    def plan(self, old: libyang.DNode | None, new: libyang.DNode | None) -> Plan:
        changes = diff(old, new)
        plan = Plan(changes, [], old=old, new=new)
        if not changes:
            return plan
        try:
            plan.affected = classify(changes, self.registry)
        except UnmappedChange as exc:
            raise PlanRefused(str(exc)) from None
        for check in self.checks:
            check(plan)
        for planner in self.planners:
            plan.operations.extend(planner.plan(plan))
        return plan

    def execute(
        self, plan: Plan, on_step: Callable[[int, str], None] = lambda index, step: None
    ) -> list[Operation]:
        """Run the plan's steps; on a failure undo the finished ones and raise PlanFailed.

        Returns the finished steps, which `rollback` undoes if the commit fails later (when
        its running cannot be made durable).
        """
        done: list[Operation] = []
        kill_point("0")
        for batch in _batches(plan.steps()):
            finished, failed = _run_batch(batch)
            for op in finished:
                done.append(op)
                on_step(len(done), op.describe())
            kill_point(str(len(done)))
            if failed is not None:
                op, exc = failed
                failure = PlanFailed(op, exc, self.rollback(done))
                self._notify(self.failure_observers, plan, str(failure))
                raise failure from exc
        return done

    def rollback(self, done: list[Operation]) -> list[str]:
        """Undo finished steps in reverse; return every undo that failed."""
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

    def failed(self, plan: Plan, reason: str) -> None:
        self._notify(self.failure_observers, plan, reason)

    def adopt(self, plan: Plan) -> None:
        for planner in self.planners:
            planner.adopt(plan)

    def publish(self, plan: Plan) -> None:
        self._notify(self.observers, plan)

    @staticmethod
    def _notify(observers: list, *args: object) -> None:
        for observer in observers:
            try:
                observer(*args)
            except Exception:  # an observer must never change the outcome of a commit
                log.exception("commit observer failed")
