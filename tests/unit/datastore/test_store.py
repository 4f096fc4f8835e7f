"""The commit transaction of the datastores, with a recording planner instead of drivers."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
from lxml import etree

from nnfv_agent.commit.pipeline import CommitPipeline, Operation, Plan
from nnfv_agent.datastore.schema import Schema
from nnfv_agent.datastore.store import Datastores
from nnfv_agent.errors import AgentError

SG = "urn:nnfv:yang:nnfv-service-graph"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def config(*names: str) -> etree._Element:
    body = "".join(f"<graph><name>{n}</name></graph>" for n in names)
    return etree.fromstring(f'<config xmlns="{NC}"><graphs xmlns="{SG}">{body}</graphs></config>')


class StepPlanner:
    """One recorded step per commit with changes; the step may block or fail on demand."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.fail = False

    def plan(self, plan: Plan) -> list[Operation]:
        return [Operation("createLSI", "g", self._do, lambda: self.log.append("undo"))]

    def _do(self) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise RuntimeError("kernel said no")
        self.log.append("do")

    def adopt(self, plan: Plan) -> None:
        self.log.append("adopt")


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema()


def stores_with(schema: Schema, directory, commit_wait: float) -> tuple[Datastores, StepPlanner]:
    """Datastores in `directory` whose commits run through a StepPlanner."""
    planner = StepPlanner()
    pipeline = CommitPipeline()
    pipeline.register(planner)
    return Datastores(schema, directory, pipeline, commit_wait=commit_wait), planner


@contextlib.contextmanager
def commit_held(stores: Datastores, planner: StepPlanner) -> Iterator[None]:
    """Commit the candidate (session 1) in a thread, held inside its kernel step until the
    block ends."""
    planner.gate = threading.Event()
    worker = threading.Thread(target=stores.commit, kwargs={"session_id": 1})
    worker.start()
    try:
        assert planner.entered.wait(10)
        yield
    finally:
        planner.gate.set()
        worker.join(10)


@pytest.fixture
def rig(schema, tmp_path):
    return stores_with(schema, tmp_path, commit_wait=0.2)


def names(xml: str) -> set[str]:
    root = etree.fromstring(f"<d>{xml}</d>")
    return {el.text for el in root.iter(f"{{{SG}}}name")}


def test_commit_applies_persists_and_adopts_then_clears_its_journal(rig, tmp_path):
    stores, planner = rig
    stores.edit("candidate", config("a"), session_id=1)
    stores.commit(session_id=1)
    assert planner.log == ["do", "adopt"]
    assert names((tmp_path / "running.xml").read_text()) == {"a"}
    assert not (tmp_path / "commit-journal").exists()


def test_failed_step_leaves_running_unchanged_in_memory_and_on_disk(rig, tmp_path):
    stores, planner = rig
    stores.edit("candidate", config("a"), session_id=1)
    stores.commit(session_id=1)
    planner.fail = True
    stores.edit("candidate", config("b"), session_id=1)
    with pytest.raises(AgentError, match="kernel said no; every completed step was undone"):
        stores.commit(session_id=1)
    assert names(stores.xml("running")) == {"a"}
    assert names((tmp_path / "running.xml").read_text()) == {"a"}
    assert not (tmp_path / "commit-journal").exists()


def test_running_that_cannot_be_saved_undoes_the_applied_steps(rig, tmp_path):
    stores, planner = rig
    (tmp_path / "running.xml").mkdir()  # the rename over it fails like a full or broken disk
    stores.edit("candidate", config("a"), session_id=1)
    with pytest.raises(AgentError, match="cannot save the running configuration") as err:
        stores.commit(session_id=1)
    assert err.value.kind == "operation-failed"
    assert planner.log == ["do", "undo"]
    assert stores.xml("running") == ""
    assert not (tmp_path / "commit-journal").exists()


def test_reader_gets_the_old_running_while_a_commit_applies(rig):
    stores, planner = rig
    stores.edit("candidate", config("old"), session_id=1)
    stores.commit(session_id=1)
    stores.edit("candidate", config("new"), session_id=1)
    with commit_held(stores, planner):
        assert names(stores.xml("running")) == {"old"}
        assert names(stores.xml("running", "report-all")) >= {"old"}
    assert names(stores.xml("running")) == {"old", "new"}


def test_second_writer_waits_its_bounded_time_then_gets_in_use(rig):
    stores, planner = rig
    stores.edit("candidate", config("a"), session_id=1)
    with commit_held(stores, planner):
        with pytest.raises(AgentError) as err:
            stores.edit("running", config("b"), session_id=2)
        assert err.value.kind == "in-use"
        # Candidate edits go on meanwhile: they never wait for the kernel.
        stores.edit("candidate", config("c"), session_id=2)


def test_observers_run_after_the_writer_lock_is_released(rig):
    stores, _planner = rig
    free = []

    def observer(plan: Plan) -> None:
        probe = threading.Thread(target=lambda: free.append(_can_write(stores)))
        probe.start()
        probe.join(10)

    stores.pipeline.observe(observer)
    stores.edit("candidate", config("a"), session_id=1)
    stores.commit(session_id=1)
    assert free == [True]


def _can_write(stores: Datastores) -> bool:
    try:
        with stores.writer(wait=0):
            return True
    except AgentError:
        return False


def test_candidate_edited_during_a_commit_keeps_its_edit(rig):
    stores, planner = rig
    stores.edit("candidate", config("a"), session_id=1)
    with commit_held(stores, planner):
        stores.edit("candidate", config("b"), session_id=2)
    assert names(stores.xml("running")) == {"a"}
    assert names(stores.xml("candidate")) == {"a", "b"}
    assert stores.candidate_dirty
