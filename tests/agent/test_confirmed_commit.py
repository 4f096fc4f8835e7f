"""RFC 6241 8.4 :confirmed-commit:1.1: timeouts, confirmation, cancel-commit and persist."""

from __future__ import annotations

import time

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError

from support.clients import RawClient, ncclient_connect

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NFG = "urn:nnfv:yang:nnfv-service-graph"


def graph(name: str) -> str:
    return (
        f'<config xmlns="{NC}"><graphs xmlns="{NFG}"><graph><name>{name}</name>'
        f"<description>confirmed-commit test</description></graph></graphs></config>"
    )


def names(m, source: str = "running") -> set[str]:
    data = m.get_config(source=source).data_ele
    return {e.text for e in data.iter(f"{{{NFG}}}name")}


def wait_for(check, timeout: float = 30.0) -> bool:
    """Wait for an outcome; the limit only ends a test that would otherwise hang."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def session_ids(m) -> set[str]:
    """The ids of the sessions the agent has open (ietf-netconf-monitoring)."""
    mon = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
    reply = m.get(filter=("subtree", f'<netconf-state xmlns="{mon}"><sessions/></netconf-state>'))
    return {e.text for e in reply.data_ele.iter(f"{{{mon}}}session-id")}


def commit_base_then_stage_trial(m) -> None:
    """running = {base}; candidate = {base, trial}."""
    m.edit_config(target="candidate", config=graph("base"))
    m.commit()
    m.edit_config(target="candidate", config=graph("trial"))


def test_unconfirmed_commit_is_rolled_back_when_the_confirm_timeout_expires(agent):
    with ncclient_connect(agent) as m:
        commit_base_then_stage_trial(m)
        assert m.commit(confirmed=True, timeout="1").ok
        assert names(m) == {"base", "trial"}
        assert wait_for(lambda: names(m) == {"base"}), "running was not rolled back"
        assert names(m, "candidate") == {"base"}
    assert not (agent.state_dir / "confirmed-commit-rollback.xml").exists()


def test_confirming_commit_before_the_timeout_makes_the_change_permanent(agent):
    with ncclient_connect(agent) as m:
        commit_base_then_stage_trial(m)
        m.commit(confirmed=True, timeout="600")
        assert m.commit().ok  # the confirming commit
        # Nothing is pending any more, so no timer can roll it back.
        with pytest.raises(RPCError):
            m.cancel_commit()
        assert names(m) == {"base", "trial"}
    assert not (agent.state_dir / "confirmed-commit-rollback.xml").exists()
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m) == {"base", "trial"}


def test_follow_up_confirmed_commit_restarts_the_timer_and_keeps_the_original_rollback(agent):
    with ncclient_connect(agent) as m:
        commit_base_then_stage_trial(m)
        m.commit(confirmed=True, timeout="600")
        m.edit_config(target="candidate", config=graph("second"))
        # The follow-up's timeout replaces the first one's: only it can expire in this test.
        assert m.commit(confirmed=True, timeout="1").ok
        assert names(m) == {"base", "trial", "second"}
        # Back to the state before the first confirmed commit.
        assert wait_for(lambda: names(m) == {"base"}), "the restarted timer did not roll back"


def test_follow_up_confirmed_commit_can_be_cancelled_back_to_the_original(agent):
    with ncclient_connect(agent) as m:
        commit_base_then_stage_trial(m)
        m.commit(confirmed=True, timeout="600")
        m.edit_config(target="candidate", config=graph("second"))
        assert m.commit(confirmed=True, timeout="600").ok
        assert names(m) == {"base", "trial", "second"}
        assert m.cancel_commit().ok
        assert names(m) == {"base"}


def test_cancel_commit_rolls_running_back(agent):
    with ncclient_connect(agent) as m:
        commit_base_then_stage_trial(m)
        m.commit(confirmed=True, timeout="30")
        assert names(m) == {"base", "trial"}
        assert m.cancel_commit().ok
        assert names(m) == {"base"}
        assert names(m, "candidate") == {"base"}
        # Nothing is pending any more: a plain commit is an ordinary commit.
        m.edit_config(target="candidate", config=graph("later"))
        m.commit()
        assert names(m) == {"base", "later"}


def test_cancel_commit_without_a_pending_confirmed_commit_is_an_error(agent):
    with ncclient_connect(agent) as m:
        with pytest.raises(RPCError):
            m.cancel_commit()


def test_persisted_confirmed_commit_survives_its_session_and_is_confirmed_by_persist_id(agent):
    a = ncclient_connect(agent)
    commit_base_then_stage_trial(a)
    assert a.commit(confirmed=True, timeout="30", persist="token-1").ok
    a_id = a.session_id
    a.close_session()
    with ncclient_connect(agent) as b:
        # Once the agent has ended a's session, it would have rolled back (wrongly) by now.
        assert wait_for(lambda: a_id not in session_ids(b)), "session a did not end"
        assert names(b) == {"base", "trial"}
        with pytest.raises(RPCError):
            b.commit(persist_id="wrong-token")
        assert b.commit(persist_id="token-1").ok
        assert names(b) == {"base", "trial"}
    assert not (agent.state_dir / "confirmed-commit-rollback.xml").exists()
    with ncclient_connect(agent) as c:
        # Confirmed: a cancel-commit has nothing to cancel any more.
        with pytest.raises(RPCError):
            c.cancel_commit(persist_id="token-1")
        assert names(c) == {"base", "trial"}


def test_persisted_confirmed_commit_needs_its_persist_id_even_in_the_issuing_session(agent):
    with ncclient_connect(agent) as a:
        commit_base_then_stage_trial(a)
        a.commit(confirmed=True, timeout="30", persist="token-2")
        with pytest.raises(RPCError) as exc:
            a.commit()
        assert exc.value.tag == "invalid-value"
        assert a.cancel_commit(persist_id="token-2").ok
        assert names(a) == {"base"}


def test_persisted_confirmed_commit_can_be_cancelled_from_another_session(agent):
    with ncclient_connect(agent) as a, ncclient_connect(agent) as b:
        commit_base_then_stage_trial(a)
        a.commit(confirmed=True, timeout="30", persist="token-3")
        with pytest.raises(RPCError):
            b.cancel_commit()
        assert names(b) == {"base", "trial"}
        assert b.cancel_commit(persist_id="token-3").ok
        assert names(a) == {"base"}


@pytest.mark.parametrize("how", ["close-session", "kill-session", "disconnect"])
def test_ending_the_issuing_session_rolls_back_a_confirmed_commit_without_persist(agent, how):
    with ncclient_connect(agent) as b:
        commit_base_then_stage_trial(b)
        b.discard_changes()
        # A raw session issues the confirmed commit (ncclient complains when killed).
        a = RawClient(agent)
        a_id = etree.fromstring(a.server_hello.encode()).findtext(f"{{{NC}}}session-id")
        for body in (
            f"<edit-config><target><candidate/></target>{graph('trial')}</edit-config>",
            "<commit><confirmed/><confirm-timeout>30</confirm-timeout></commit>",
        ):
            assert "<ok/>" in a.rpc(body)
        assert names(b) == {"base", "trial"}
        if how == "close-session":
            assert "<ok/>" in a.rpc("<close-session/>")
        elif how == "kill-session":
            b.kill_session(a_id)
        a.close()
        assert wait_for(lambda: names(b) == {"base"})
    assert not (agent.state_dir / "confirmed-commit-rollback.xml").exists()


def test_agent_restart_before_confirmation_restores_the_previous_running(agent):
    with ncclient_connect(agent) as m:
        commit_base_then_stage_trial(m)
        m.commit(confirmed=True, timeout="60")
        assert names(m) == {"base", "trial"}
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m) == {"base"}
        assert names(m, "candidate") == {"base"}
        # No confirmed commit is pending after the restart.
        with pytest.raises(RPCError):
            m.cancel_commit()


def test_agent_restart_before_confirmation_restores_a_persisted_confirmed_commit_too(agent):
    with ncclient_connect(agent) as m:
        commit_base_then_stage_trial(m)
        m.commit(confirmed=True, timeout="60", persist="token-4")
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m) == {"base"}


def test_commit_by_another_session_during_a_pending_confirmed_commit_is_refused(agent):
    with ncclient_connect(agent) as a, ncclient_connect(agent) as b:
        commit_base_then_stage_trial(a)
        a.commit(confirmed=True, timeout="30")
        b.edit_config(target="candidate", config=graph("interloper"))
        with pytest.raises(RPCError) as exc:
            b.commit()
        assert exc.value.tag in ("in-use", "operation-failed")
        assert names(b) == {"base", "trial"}
        with pytest.raises(RPCError):
            b.cancel_commit()
        # The issuing session can still confirm, and its change stays.
        assert a.commit().ok
        assert {"base", "trial"} <= names(a)


def test_confirmed_commit_with_a_zero_timeout_is_invalid_value(agent):
    with ncclient_connect(agent) as m:
        m.edit_config(target="candidate", config=graph("never"))
        with pytest.raises(RPCError) as exc:
            m.commit(confirmed=True, timeout="0")
        assert exc.value.tag == "invalid-value"
        assert names(m) == set()
