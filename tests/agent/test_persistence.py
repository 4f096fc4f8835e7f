"""What survives a restart or a crash: running, startup, the host key; and no stray files."""

from __future__ import annotations

import signal

import paramiko
import pytest
from lxml import etree

from support.agentproc import PASSWORD, USER, example_config
from support.clients import ncclient_connect

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NFG = "urn:nnfv:yang:nnfv-service-graph"
AGENT_NS = "urn:nnfv:yang:nnfv-agent"


def graph(name: str) -> str:
    return (
        f'<config xmlns="{NC}"><graphs xmlns="{NFG}"><graph><name>{name}</name>'
        f"<description>persistence test</description></graph></graphs></config>"
    )


def names(m, source: str = "running") -> set[str]:
    data = m.get_config(source=source).data_ele
    return {e.text for e in data.iter(f"{{{NFG}}}name")}


def commit(m, config: str) -> None:
    m.edit_config(target="candidate", config=config)
    m.commit()


def host_key(agent) -> paramiko.PKey:
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.start_client(timeout=10)
        return transport.get_remote_server_key()
    finally:
        transport.close()


def stray_files(agent) -> list[str]:
    return sorted(
        p.name
        for p in agent.state_dir.rglob("*")
        if p.name.startswith(".") or p.name.endswith((".tmp", "~")) or ".tmp" in p.name
    )


def test_committed_running_survives_a_restart(agent):
    with ncclient_connect(agent) as m:
        commit(m, example_config("graph-firewall-nat.xml"))
        before = m.get_config(source="running").data_xml
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m) >= {"fw-nat"}
        assert m.get_config(source="running").data_xml == before
        # The candidate starts out as a copy of running.
        assert names(m, "candidate") == names(m)


def test_edit_config_on_running_survives_a_restart(agent):
    with ncclient_connect(agent) as m:
        m.edit_config(target="running", config=graph("direct"))
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m) == {"direct"}


def test_uncommitted_candidate_changes_do_not_survive_a_restart(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("kept"))
        m.edit_config(target="candidate", config=graph("lost"))
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m) == {"kept"}
        assert names(m, "candidate") == {"kept"}


def test_copy_running_to_startup_survives_a_restart_and_startup_is_readable(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("boot"))
        assert names(m, "startup") == set()
        assert m.copy_config(source="running", target="startup").ok
        assert names(m, "startup") == {"boot"}
        commit(m, graph("after-copy"))
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m, "startup") == {"boot"}
        assert names(m) == {"boot", "after-copy"}


def test_startup_is_used_when_there_is_no_running_file(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("from-startup"))
        m.copy_config(source="running", target="startup")
    agent.stop()
    (agent.state_dir / "running.xml").unlink()
    agent.start()
    with ncclient_connect(agent) as m:
        assert names(m) == {"from-startup"}


def test_sigkill_right_after_a_commit_keeps_the_committed_config(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("first"))
        commit(m, graph("second"))
        expected = m.get_config(source="running").data_xml
    agent.stop(signal.SIGKILL)
    agent.start()
    with ncclient_connect(agent) as m:
        assert names(m) == {"first", "second"}
        assert m.get_config(source="running").data_xml == expected
    assert stray_files(agent) == []


def test_host_key_is_kept_across_restarts(agent):
    before = host_key(agent)
    agent.restart()
    after = host_key(agent)
    assert after.get_name() == before.get_name()
    assert after.get_fingerprint() == before.get_fingerprint()
    agent.stop(signal.SIGKILL)
    agent.start()
    assert host_key(agent).get_fingerprint() == before.get_fingerprint()


def test_host_key_file_is_private(agent):
    key_files = [p for p in agent.state_dir.iterdir() if "host" in p.name and "key" in p.name]
    assert key_files
    for path in key_files:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_host_key_on_the_wire_is_the_one_in_the_state_dir(agent):
    on_wire = host_key(agent)
    stored = paramiko.ECDSAKey.from_private_key_file(str(agent.state_dir / "ssh_host_ecdsa_key"))
    assert stored.get_fingerprint() == on_wire.get_fingerprint()


def test_no_temporary_files_are_left_in_the_state_dir(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("one"))
        m.copy_config(source="running", target="startup")
        m.commit(confirmed=True, timeout="30")
        m.commit()
        m.edit_config(target="running", config=graph("two"))
        m.delete_config(target="startup")
    agent.restart()
    assert stray_files(agent) == []
    assert not (agent.state_dir / "confirmed-commit-rollback.xml").exists()


def test_password_and_public_key_logins_work_after_a_restart(agent, client_key):
    with ncclient_connect(agent) as m:
        commit(m, graph("shared"))
    agent.restart()
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.connect(username=USER, pkey=client_key)
        assert transport.is_authenticated()
    finally:
        transport.close()
    transport = paramiko.Transport(("127.0.0.1", agent.port))
    try:
        transport.connect(username=USER, password=PASSWORD)
        assert transport.is_authenticated()
    finally:
        transport.close()
    with ncclient_connect(agent) as m:
        assert names(m) == {"shared"}


def _zero_filled(raw: bytes) -> bytes:
    return b"\0" * len(raw)


def _nul_prefixed(raw: bytes) -> bytes:
    return b"\0" * 64 + raw[64:]


def _empty(raw: bytes) -> bytes:
    return b""


def _whitespace_only(raw: bytes) -> bytes:
    return b" \n" * 20


def _truncated(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


DAMAGE = [_zero_filled, _nul_prefixed, _empty, _whitespace_only, _truncated]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_running_file_starts_from_its_last_intact_generation(agent, damage):
    with ncclient_connect(agent) as m:
        commit(m, graph("first"))
        commit(m, graph("second"))
    agent.stop()
    running = agent.state_dir / "running.xml"
    running.write_bytes(damage(running.read_bytes()))
    agent.start()
    with ncclient_connect(agent) as m:
        assert names(m) == {"first"}
        # Said in a notification too, kept for replay to whoever subscribes later.
        m.create_subscription(start_time="2000-01-01T00:00:00Z")
        event = m.take_notification(timeout=10)
        assert event is not None
        content = etree.fromstring(event.notification_xml.encode())[1]
        assert etree.QName(content).localname == "state-file-recovered"
        assert content.findtext(f"{{{AGENT_NS}}}file") == "running.xml"
        assert "running.xml.prev" in content.findtext(f"{{{AGENT_NS}}}reason")
    log = agent.log.read_text()
    assert "running.xml is damaged" in log
    assert "last intact generation" in log


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_running_file_without_earlier_generation_refuses_to_start(agent, damage):
    with ncclient_connect(agent) as m:
        commit(m, graph("only"))
    agent.stop()
    running = agent.state_dir / "running.xml"
    (agent.state_dir / "running.xml.prev").unlink(missing_ok=True)
    before = damage(running.read_bytes())
    running.write_bytes(before)
    with pytest.raises(RuntimeError) as info:
        agent.start()
    assert "running.xml is damaged" in str(info.value)
    assert "Refusing to start" in str(info.value)
    # Nothing was overwritten: the operator can still inspect or repair the file.
    assert running.read_bytes() == before


def test_damaged_startup_file_falls_back_to_its_last_intact_generation(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("boot"))
        m.copy_config(source="running", target="startup")
        commit(m, graph("later"))
        m.copy_config(source="running", target="startup")
    agent.stop()
    startup = agent.state_dir / "startup.xml"
    startup.write_bytes(b"\0" * startup.stat().st_size)
    agent.start()
    with ncclient_connect(agent) as m:
        assert names(m, "startup") == {"boot"}
        assert names(m) == {"boot", "later"}


def test_damaged_confirmed_commit_rollback_file_refuses_to_start(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("confirmed-before"))
        m.edit_config(target="candidate", config=graph("unconfirmed"))
        m.commit(confirmed=True, timeout="600", persist="keep")
    agent.stop(signal.SIGKILL)
    rollback = agent.state_dir / "confirmed-commit-rollback.xml"
    rollback.write_bytes(b"\0" * rollback.stat().st_size)
    with pytest.raises(RuntimeError) as info:
        agent.start()
    assert "confirmed-commit-rollback.xml is damaged" in str(info.value)


def test_empty_running_configuration_survives_a_restart_as_empty(agent):
    with ncclient_connect(agent) as m:
        commit(m, graph("gone-soon"))
        m.edit_config(
            target="candidate",
            config=f'<config xmlns="{NC}"><graphs xmlns="{NFG}" '
            f'xmlns:nc="{NC}" nc:operation="remove"/></config>',
        )
        m.commit()
    agent.restart()
    with ncclient_connect(agent) as m:
        assert names(m) == set()


def test_stale_temporary_files_are_removed_at_start(agent):
    agent.stop(signal.SIGKILL)
    (agent.state_dir / "nf").mkdir(exist_ok=True)
    stale = [
        agent.state_dir / ".running.xml.tmp",
        agent.state_dir / ".startup.xml.tmp",
        agent.state_dir / "nf" / ".nnfv-x-0123456789.json.tmp",
    ]
    for path in stale:
        path.write_text("<half")
    agent.start()
    assert stray_files(agent) == []
