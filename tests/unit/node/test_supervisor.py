"""The supervisor's failure record, with a recording fake of the data plane (no kernel)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from nnfv_agent.node.restart import RestartCounter, RestartPolicy
from nnfv_agent.node.supervisor import Supervisor, _Unit


class RecordingCompute:
    """Records each call with what `get` would have read from the supervisor at that moment."""

    def __init__(self, supervisor_health: dict) -> None:
        self.health = supervisor_health
        self.calls: list[tuple[str, str, object]] = []

    def mark_failed(self, key: str, reason: str) -> None:
        self.calls.append(("mark_failed", reason, self.health.get(key)))

    def on_state(self, graph: str, nf: str, state: str, reason: str | None) -> None:
        self.calls.append(("on_state", f"{graph}/{nf} {state}", self.health.get("i1")))


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    sup = Supervisor(SimpleNamespace(publish=lambda event: None), 10.0, RestartPolicy())
    yield sup
    sup.stop()


def fail_once(sup: Supervisor, policy: RestartPolicy, count: int) -> RecordingCompute:
    compute = RecordingCompute(sup.health)
    sup.dp.compute = compute  # type: ignore[attr-defined]
    member = SimpleNamespace(graph="g", nf=SimpleNamespace(id="x"))
    dep = SimpleNamespace(by_key={"i1": [member]})
    unit = _Unit(RestartCounter(policy, count=count), graphs=("g",))
    sup._schedule("i1", unit, dep, "start script exited with 1", first=False)  # type: ignore[arg-type]
    return compute


def test_exhausted_failure_is_in_the_state_file_before_health_shows_it(supervisor):
    # `get` reads health first, then the state file: health must never be ahead of it, or a
    # reply shows restarts-exhausted next to the previous error (a CI failure, seen once).
    compute = fail_once(supervisor, RestartPolicy(max_restarts=2), count=2)
    name, reason, health_then = compute.calls[0]
    assert name == "mark_failed"
    assert "gave up after 2 restart(s)" in reason
    assert health_then is None, "health was published before the state file had the reason"
    health = supervisor.health["i1"]
    assert health.exhausted and health.reason == reason


def test_failure_event_is_sent_after_health_is_recorded(supervisor):
    compute = fail_once(supervisor, RestartPolicy(min_interval=0.5), count=0)
    assert [c[0] for c in compute.calls] == ["mark_failed", "on_state"]
    _name, what, health_then = compute.calls[1]
    assert what == "g/x failed"
    assert health_then is not None and health_then.next_restart is not None
