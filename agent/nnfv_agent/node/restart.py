"""Restart policy with backoff, in the spirit of TR-181's AutoRestart (pure: no clock, no I/O).

A failed unit (an NF instance, a graph's LSI) is repaired after a delay that starts at the
minimum retry interval and is multiplied by the interval multiplier on each further attempt, up
to the maximum retry interval. After `max_restarts` attempts without a healthy period in between
the unit stays failed. A unit that has been healthy for `reset_time` seconds since its last
(re)start has its count reset, so an NF that crashes once a month is always restarted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

# YANG leaf (restart-policy/...) -> field of RestartPolicy.
LEAVES = {
    "auto-restart": "auto_restart",
    "retry-minimum-wait-interval": "min_interval",
    "retry-maximum-wait-interval": "max_interval",
    "retry-interval-multiplier": "multiplier",
    "max-restarts": "max_restarts",
    "restart-count-reset-time": "reset_time",
}


@dataclass(frozen=True)
class RestartPolicy:
    auto_restart: bool = True
    min_interval: float = 2.0  # seconds before the first restart
    max_interval: float = 300.0  # the delay never grows beyond this
    multiplier: float = 2.0
    max_restarts: int = 10  # attempts without a healthy reset period in between; 0: no limit
    reset_time: float = 600.0  # healthy seconds after which the count starts again

    def overridden(self, leaves: Iterable[tuple[str, str]]) -> RestartPolicy:
        """This policy with the restart-policy leaves of a template or NF applied."""
        changes: dict[str, bool | float | int] = {}
        for leaf, text in leaves:
            name = LEAVES.get(leaf)
            if name == "auto_restart":
                changes[name] = text.strip() == "true"
            elif name == "max_restarts":
                changes[name] = int(text)
            elif name is not None:
                changes[name] = float(text)
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]

    def delay(self, attempt: int) -> float:
        """Seconds before restart attempt number `attempt` (1 for the first)."""
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        low = max(0.0, self.min_interval)
        high = max(low, self.max_interval)
        # Capped before it can overflow: multiplier ** attempt grows without bound.
        value = low
        for _ in range(attempt - 1):
            value *= max(1.0, self.multiplier)
            if value >= high:
                return high
        return min(value, high)


@dataclass
class RestartCounter:
    """The restart history of one unit under `policy`. Times are monotonic seconds."""

    policy: RestartPolicy
    count: int = 0  # restart attempts since the last reset
    healthy_since: float | None = None  # when it was last seen healthy, since its last failure

    def healthy(self, now: float) -> None:
        """Seen healthy at `now`; after `reset_time` of health the count starts again."""
        if self.healthy_since is None:
            self.healthy_since = now
        elif self.count and now - self.healthy_since >= self.policy.reset_time:
            self.count = 0

    def failed(self, now: float) -> float | None:
        """A failure seen at `now`: seconds until the next restart, or None if there is none
        (auto-restart is off, or the maximum count is used up)."""
        self.healthy(now)  # a long healthy run before this failure resets the count
        self.healthy_since = None
        if not self.policy.auto_restart:
            return None
        if self.policy.max_restarts and self.count >= self.policy.max_restarts:
            return None
        self.count += 1
        return self.policy.delay(self.count)

    @property
    def exhausted(self) -> bool:
        return not self.policy.auto_restart or bool(
            self.policy.max_restarts and self.count >= self.policy.max_restarts
        )
