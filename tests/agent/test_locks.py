"""RFC 6241 7.5/7.6 global locks between concurrent sessions."""

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
        f"<description>lock test</description></graph></graphs></config>"
    )


def names(m, source: str) -> set[str]:
    data = m.get_config(source=source).data_ele
    return {e.text for e in data.iter(f"{{{NFG}}}name")}


def error_session_id(err: RPCError) -> str | None:
    if not err.info:
        return None
    return etree.fromstring(err.info.encode()).findtext(f"{{{NC}}}session-id")


def wait_until(check, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def raw_ok(raw: RawClient, body: str) -> None:
    """Run an RPC on a raw session (used for sessions that get killed: ncclient would complain
    from its reader thread about the unexpected close)."""
    reply = etree.fromstring(raw.rpc(body).encode())
    assert reply.find(f"{{{NC}}}ok") is not None, etree.tostring(reply)


def raw_session_id(raw: RawClient) -> str:
    return etree.fromstring(raw.server_hello.encode()).findtext(f"{{{NC}}}session-id")


def lock_granted(m, target: str) -> bool:
    try:
        m.lock(target)
    except RPCError:
        return False
    return True


@pytest.fixture
def two(agent):
    a = ncclient_connect(agent)
    b = ncclient_connect(agent)
    yield a, b
    for m in (a, b):
        if m.connected:
            m.close_session()


@pytest.mark.parametrize("target", ["running", "candidate", "startup"])
def test_lock_held_by_another_session_is_denied_with_the_holders_session_id(two, target):
    a, b = two
    assert a.lock(target).ok
    with pytest.raises(RPCError) as exc:
        b.lock(target)
    assert exc.value.tag == "lock-denied"
    assert exc.value.type == "protocol"
    assert error_session_id(exc.value) == a.session_id


def test_relocking_a_datastore_one_already_holds_is_denied(two):
    a, _ = two
    a.lock("running")
    with pytest.raises(RPCError) as exc:
        a.lock("running")
    assert exc.value.tag == "lock-denied"
    assert error_session_id(exc.value) == a.session_id


@pytest.mark.parametrize("target", ["running", "candidate"])
def test_edit_config_on_a_datastore_locked_by_another_session_is_in_use(two, target):
    a, b = two
    a.lock(target)
    with pytest.raises(RPCError) as exc:
        b.edit_config(target=target, config=graph("intruder"))
    assert exc.value.tag == "in-use"
    assert error_session_id(exc.value) == a.session_id
    assert "intruder" not in names(a, target)
    # The holder itself may edit.
    assert a.edit_config(target=target, config=graph("owner")).ok
    assert "owner" in names(b, target)


def test_commit_while_another_session_holds_the_running_lock_is_in_use(two):
    a, b = two
    a.lock("running")
    b.edit_config(target="candidate", config=graph("pending"))
    with pytest.raises(RPCError) as exc:
        b.commit()
    assert exc.value.tag == "in-use"
    assert "pending" not in names(a, "running")
    a.unlock("running")
    assert b.commit().ok
    assert "pending" in names(a, "running")


def test_commit_while_another_session_holds_the_candidate_lock_is_in_use(two):
    a, b = two
    a.lock("candidate")
    a.edit_config(target="candidate", config=graph("owners-work"))
    with pytest.raises(RPCError) as exc:
        b.commit()
    assert exc.value.tag == "in-use"
    assert "owners-work" not in names(b, "running")
    assert a.commit().ok
    assert "owners-work" in names(b, "running")


def test_copy_config_and_delete_config_on_a_locked_startup_are_in_use(two):
    a, b = two
    a.lock("startup")
    with pytest.raises(RPCError) as exc:
        b.copy_config(source="running", target="startup")
    assert exc.value.tag == "in-use"
    with pytest.raises(RPCError) as exc:
        b.delete_config(target="startup")
    assert exc.value.tag == "in-use"


def test_discard_changes_by_another_session_than_the_candidate_holder_is_in_use(two):
    a, b = two
    a.lock("candidate")
    a.edit_config(target="candidate", config=graph("keep-me"))
    with pytest.raises(RPCError) as exc:
        b.discard_changes()
    assert exc.value.tag == "in-use"
    assert "keep-me" in names(b, "candidate")


def test_unlock_by_a_session_that_does_not_hold_the_lock_fails_and_the_lock_stays(two):
    a, b = two
    a.lock("running")
    with pytest.raises(RPCError) as exc:
        b.unlock("running")
    assert exc.value.tag in ("operation-failed", "lock-denied", "in-use")
    with pytest.raises(RPCError) as exc:
        b.edit_config(target="running", config=graph("still-locked"))
    assert exc.value.tag == "in-use"
    assert a.unlock("running").ok


def test_unlock_of_an_unlocked_datastore_fails(two):
    a, _ = two
    with pytest.raises(RPCError):
        a.unlock("candidate")


def test_unlock_lets_another_session_take_the_lock(two):
    a, b = two
    a.lock("running")
    assert a.unlock("running").ok
    assert b.lock("running").ok
    with pytest.raises(RPCError) as exc:
        a.lock("running")
    assert error_session_id(exc.value) == b.session_id


def test_closing_the_holder_releases_its_locks(two):
    a, b = two
    a.lock("running")
    a.lock("startup")
    a.close_session()
    assert wait_until(lambda: lock_granted(b, "running"))
    assert b.lock("startup").ok


def test_killing_the_holder_releases_its_locks(agent):
    a = RawClient(agent)
    raw_ok(a, "<lock><target><running/></target></lock>")
    raw_ok(a, "<lock><target><candidate/></target></lock>")
    with ncclient_connect(agent) as b:
        with pytest.raises(RPCError):
            b.lock("running")
        assert b.kill_session(raw_session_id(a)).ok
        assert b.lock("running").ok
        assert b.lock("candidate").ok
        assert b.edit_config(target="running", config=graph("after-kill")).ok
    a.close()


@pytest.mark.parametrize("how", ["close-session", "kill-session", "disconnect"])
def test_candidate_lock_lost_with_its_session_discards_its_uncommitted_changes(agent, how):
    b = ncclient_connect(agent)
    b.edit_config(target="candidate", config=graph("committed"))
    b.commit()
    a = RawClient(agent)
    raw_ok(a, "<lock><target><candidate/></target></lock>")
    raw_ok(a, f"<edit-config><target><candidate/></target>{graph('abandoned')}</edit-config>")
    assert "abandoned" in names(b, "candidate")
    if how == "close-session":
        raw_ok(a, "<close-session/>")
    elif how == "kill-session":
        b.kill_session(raw_session_id(a))
    a.close()
    assert wait_until(lambda: "abandoned" not in names(b, "candidate"))
    assert names(b, "candidate") == {"committed"}
    assert names(b, "running") == {"committed"}
    # The candidate is clean again, so it can be locked.
    assert wait_until(lambda: lock_granted(b, "candidate"))
    b.close_session()


def test_lock_on_a_modified_candidate_is_refused(two):
    a, b = two
    a.edit_config(target="candidate", config=graph("uncommitted"))
    for m in (b, a):
        with pytest.raises(RPCError) as exc:
            m.lock("candidate")
        assert exc.value.tag == "lock-denied"
    assert a.discard_changes().ok
    assert b.lock("candidate").ok


def test_lock_on_a_candidate_is_granted_again_after_commit(two):
    a, b = two
    a.edit_config(target="candidate", config=graph("to-commit"))
    with pytest.raises(RPCError):
        b.lock("candidate")
    a.commit()
    assert b.lock("candidate").ok
