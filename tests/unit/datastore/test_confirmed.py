"""A failed confirmed-commit rollback is kept and retried, with a recording planner (no kernel)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from lxml import etree

from nnfv_agent.datastore.confirmed import ConfirmedCommits, retry_delay
from nnfv_agent.datastore.schema import Schema
from nnfv_agent.datastore.store import Datastores

from .test_store import config, stores_with

AGENT = "urn:nnfv:yang:nnfv-agent"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema()


@pytest.fixture
def rig(schema, tmp_path):
    stores, planner = stores_with(schema, tmp_path, commit_wait=5)
    events: list[str] = []
    confirmed = ConfirmedCommits(stores, publish=events.append, retry_min=0.05, retry_max=0.2)
    yield stores, planner, confirmed, events
    confirmed.stop()


def wait_for(check: Callable[[], object], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return bool(check())


def event_kinds(events: list[str]) -> list[str]:
    return [etree.fromstring(e).findtext(f"{{{AGENT}}}event") for e in events]


def confirmed_commit(stores: Datastores, confirmed: ConfirmedCommits) -> None:
    stores.edit("candidate", config("trial"), session_id=1)
    confirmed.commit(session_id=1, confirmed=True, timeout=600, persist="p", persist_id=None)


def test_retry_delay_doubles_from_the_minimum_up_to_the_maximum():
    assert [retry_delay(n, 1.0, 10.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert retry_delay(10_000, 1.0, 60.0) == 60.0


def test_failed_rollback_keeps_its_file_and_pending_state_and_is_retried_until_it_succeeds(rig):
    stores, planner, confirmed, events = rig
    confirmed_commit(stores, confirmed)
    assert "trial" in stores.xml("running")
    planner.fail = True
    confirmed.cancel(session_id=1, persist_id="p")  # answered: the rollback goes on alone
    assert confirmed.retrying is not None
    assert stores.rollback_file.exists()
    state = confirmed.state_xml()
    assert state is not None and state.findtext(f"{{{AGENT}}}attempts") == "1"
    assert "kernel said no" in state.findtext(f"{{{AGENT}}}last-error")
    assert wait_for(lambda: confirmed.retrying is not None and confirmed.retrying.attempts >= 3)
    assert "trial" in stores.xml("running"), "running changed although the rollback failed"
    planner.fail = False
    assert wait_for(lambda: confirmed.retrying is None)
    assert "trial" not in stores.xml("running")
    assert not stores.rollback_file.exists()
    assert confirmed.state_xml() is None
    kinds = event_kinds(events)
    assert kinds[:3] == ["failed"] * 3 and kinds[-1] == "succeeded"


def test_a_commit_supersedes_a_failed_rollback(rig):
    stores, planner, confirmed, events = rig
    confirmed_commit(stores, confirmed)
    planner.fail = True
    confirmed.cancel(session_id=1, persist_id="p")
    assert confirmed.retrying is not None
    planner.fail = False
    stores.edit("candidate", config("other"), session_id=1)
    confirmed.commit(session_id=1, confirmed=False, timeout=None, persist=None, persist_id=None)
    assert confirmed.retrying is None
    assert not stores.rollback_file.exists()
    assert "other" in stores.xml("running")
    assert "superseded" in event_kinds(events)
