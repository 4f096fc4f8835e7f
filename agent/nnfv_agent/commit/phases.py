"""The phases of a plan and the collector that files each operation under its phase.

The planner decides what to do; `Ops` decides in which order it happens (make before break).
"""

from __future__ import annotations

from .pipeline import Operation, Step

_STEP = {"stopNF": "stop", "deletePort": "ports", "deleteNF": "delete"}

PHASES = (
    "break-stop",
    "break-ports",
    "break-delete",
    "create",
    "start",
    "steer",
    "after",
    "remove-endpoints",
    "remove-stop",
    "remove-delete",
    "remove-ports",
)
# Operations of these kinds touch one NF instance each and may run side by side.
PARALLEL = {"startNF", "stopNF", "deleteNF", "deletePort"}


class Ops:
    """Collects operations into the phases of a plan, in order of appearance within a phase.

    Make before break: new NFs are created and started before the steering batch sends traffic
    to them, and old ones are removed only after it. Only what must be re-created under the
    same name (a template or port change, a restart, a changed endpoint) breaks first.
    """

    def __init__(self) -> None:
        self.phases: dict[str, list[Operation]] = {p: [] for p in PHASES}
        self.settle: list[tuple[str, str, str]] = []  # NF ports that leave with a namespace

    def add(
        self, phase: str, name: str, target: str, do: Step | None = None, undo: Step | None = None
    ) -> None:
        if phase in ("break", "remove"):  # one instance's steps, spread over the sub-phases
            phase = f"{phase}-{_STEP.get(name, 'ports')}"
        group = name if name in PARALLEL else None
        self.phases[phase].append(Operation(name, target, do, undo, group))

    def ordered(self) -> list[Operation]:
        return [op for phase in self.phases.values() for op in phase]
