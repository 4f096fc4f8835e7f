"""NACM (RFC 8341) over real SSH sessions, with ncclient and with scrapli (a second client).

The agent runs with the shipped default rules (groups admin and monitor), users in those
groups through agent.toml, a user in no group, two tenants and the recovery user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from lxml import etree
from ncclient.operations.rpc import RPCError
from scrapli import AuthOptions, Netconf, NetconfOptions, SessionOptions, TransportSsh2Options
from scrapli.netconf import DatastoreType

from nnfv_agent.netconf.access import default_nacm_xml
from support.agentproc import PASSWORD, AgentProcess, write_config
from support.clients import ncclient_connect

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
SG = "urn:nnfv:yang:nnfv-service-graph"
ACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"

USERS: dict[str, dict[str, object]] = {
    "oss": {"groups": ["admin"]},
    "inventory": {"groups": ["monitor"]},
    "guest": {"groups": []},
    "alice": {"groups": ["tenant-a"]},
    "bob": {"groups": ["tenant-b"]},
    "rescue": {"groups": [], "recovery": True},
}


@contextmanager
def scrapli_session(agent: AgentProcess, *, auth: AuthOptions) -> Iterator[Netconf]:
    """scrapli 2.x's own NETCONF driver: the client not built on ncclient."""
    conn = Netconf(
        "127.0.0.1",
        port=agent.port,
        options=NetconfOptions(preferred_version="version_1_1", close_force=True),
        auth_options=auth,
        session_options=SessionOptions(operation_timeout_ns=5_000_000_000),
        transport_options=TransportSsh2Options(),
    )
    conn.open()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def agent(tmp_path) -> Iterator[AgentProcess]:
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "agent.toml"
    write_config(config, state, users=USERS)
    proc = AgentProcess(state, config, tmp_path / "agent.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def graphs(*names: str, text: str = "by the OSS") -> str:
    body = "".join(
        f"<graph><name>{n}</name><description>{n} {text}</description></graph>" for n in names
    )
    return f'<config xmlns="{NC}"><graphs xmlns="{SG}">{body}</graphs></config>'


def tenant_rules(tenant: str, graph_names: list[str]) -> str:
    """The documented tenant pattern: one permit per graph of the tenant, then deny graphs."""
    own = "".join(
        f"<rule><name>graph-{g}</name><module-name>nnfv-service-graph</module-name>"
        f"<path xmlns:sg=\"{SG}\">/sg:graphs/sg:graph[sg:name='{g}']</path>"
        "<access-operations>*</access-operations><action>permit</action></rule>"
        for g in graph_names
    )
    return (
        f"<rule-list><name>{tenant}</name><group>{tenant}</group>{own}"
        "<rule><name>no-other-graph</name><module-name>nnfv-service-graph</module-name>"
        f'<path xmlns:sg="{SG}">/sg:graphs/sg:graph</path>'
        "<access-operations>*</access-operations><action>deny</action></rule></rule-list>"
    )


def nacm_with_tenants() -> str:
    rules = tenant_rules("tenant-a", ["tenantA-web"]) + tenant_rules("tenant-b", ["tenantB-db"])
    return (
        f'<config xmlns="{NC}">{default_nacm_xml().replace("</nacm>", rules + "</nacm>")}</config>'
    )


@contextmanager
def nc(agent: AgentProcess, user: str) -> Iterator:
    with ncclient_connect(agent, username=user, password=PASSWORD) as m:
        yield m


def names_in(xml: str) -> set[str]:
    root = etree.fromstring(xml.encode())
    return {e.text for e in root.iter(f"{{{SG}}}name")}


def setup_tenants(agent: AgentProcess) -> None:
    with nc(agent, "oss") as m:
        m.edit_config(target="running", config=nacm_with_tenants())
        m.edit_config(target="running", config=graphs("tenantA-web", "tenantB-db"))


def denied(exc: pytest.ExceptionInfo[RPCError]) -> str:
    """The error-path of an access-denied error (asserted to be one)."""
    assert exc.value.tag == "access-denied", exc.value.xml
    path = exc.value.path
    assert path, "access-denied without an error-path"
    return path


# ---- admin -----------------------------------------------------------------------------------


def test_admin_group_may_write_commit_and_kill_sessions_with_ncclient(agent):
    victim = ncclient_connect(agent, username="inventory", password=PASSWORD)
    with nc(agent, "oss") as m:
        m.edit_config(target="candidate", config=graphs("g1"))
        m.commit()
        assert names_in(m.get_config("running").data_xml) == {"g1"}
        assert m.kill_session(victim.session_id).ok
    with suppress(Exception):  # killed: its close-session finds no session
        victim.close_session()


def test_admin_group_may_write_and_edit_nacm_with_scrapli(agent):
    auth = AuthOptions(username="oss", password=PASSWORD)
    with scrapli_session(agent, auth=auth) as conn:
        result = conn.edit_config(config=graphs("g1"), target=DatastoreType.RUNNING)
        assert not result.failed, result.result
        result = conn.edit_config(config=nacm_with_tenants(), target=DatastoreType.RUNNING)
        assert not result.failed, result.result
        read = conn.get_config(source=DatastoreType.RUNNING)
        assert "tenantA-web" in read.result and "g1" in read.result


# ---- monitor ---------------------------------------------------------------------------------


def test_monitor_reads_everything_with_ncclient(agent):
    with nc(agent, "oss") as m:
        m.edit_config(target="running", config=graphs("g1"))
    with nc(agent, "inventory") as m:
        assert names_in(m.get_config("running").data_xml) == {"g1"}
        assert "netconf-state" in m.get().data_xml


@pytest.mark.parametrize(
    ("rpc", "operation"),
    [
        (lambda m: m.edit_config(target="running", config=graphs("x")), "edit-config"),
        (lambda m: m.edit_config(target="candidate", config=graphs("x")), "edit-config"),
        (lambda m: m.copy_config(source="running", target="startup"), "copy-config"),
        (lambda m: m.commit(), "commit"),
        (lambda m: m.discard_changes(), "discard-changes"),
        (lambda m: m.lock("running"), "lock"),
        (lambda m: m.delete_config("startup"), "delete-config"),
    ],
)
def test_monitor_may_not_run_operations_that_write(agent, rpc, operation):
    with nc(agent, "inventory") as m:
        with pytest.raises(RPCError) as exc:
            rpc(m)
        assert denied(exc) == f"/nc:rpc/nc:{operation}"
        assert exc.value.type == "protocol"
    with nc(agent, "oss") as m:
        assert names_in(m.get_config("running").data_xml) == set()


def test_monitor_may_not_kill_a_session_and_the_session_lives(agent):
    with nc(agent, "oss") as admin, nc(agent, "inventory") as m:
        with pytest.raises(RPCError) as exc:
            m.kill_session(admin.session_id)
        assert denied(exc) == "/nc:rpc/nc:kill-session"
        assert admin.get_config("running").ok


def test_monitor_is_refused_with_scrapli_too(agent):
    auth = AuthOptions(username="inventory", password=PASSWORD)
    with scrapli_session(agent, auth=auth) as conn:
        assert not conn.get_config(source=DatastoreType.RUNNING).failed
        result = conn.edit_config(config=graphs("x"), target=DatastoreType.RUNNING)
        assert result.failed
        error = etree.fromstring(result.result.encode()).find(f"{{{NC}}}rpc-error")
        assert error.findtext(f"{{{NC}}}error-tag") == "access-denied"
        assert error.findtext(f"{{{NC}}}error-path") == "/nc:rpc/nc:edit-config"


# ---- a user in no group: the RFC defaults ----------------------------------------------------


def test_user_in_no_group_reads_but_its_write_is_refused_with_the_data_path(agent):
    with nc(agent, "guest") as m:
        assert m.get_config("running").ok
        with pytest.raises(RPCError) as exc:
            m.edit_config(target="running", config=graphs("x"))
        assert denied(exc).startswith("/nfg:graphs/nfg:graph[nfg:name='x']")
        assert exc.value.type == "application"
        with pytest.raises(RPCError) as exc:
            m.kill_session("999")
        assert denied(exc) == "/nc:rpc/nc:kill-session"
        with nc(agent, "oss") as admin:
            assert names_in(admin.get_config("running").data_xml) == set()


def test_nacm_rules_are_hidden_from_and_not_writable_by_others(agent):
    setup_tenants(agent)
    with nc(agent, "guest") as m:
        assert "rule-list" not in m.get_config("running").data_xml
        self_promotion = (
            f'<config xmlns="{NC}"><nacm xmlns="{ACM}"><groups><group><name>admin</name>'
            "<user-name>guest</user-name></group></groups></nacm></config>"
        )
        with pytest.raises(RPCError) as exc:
            m.edit_config(target="running", config=self_promotion)
        assert denied(exc).startswith("/nacm:nacm/")
    with nc(agent, "inventory") as m:  # the monitor rules permit reading it
        assert "rule-list" in m.get_config("running").data_xml


# ---- tenants ---------------------------------------------------------------------------------


def test_tenant_sees_only_its_graph_in_get_get_config_and_filters(agent):
    setup_tenants(agent)
    with nc(agent, "alice") as m:
        assert names_in(m.get_config("running").data_xml) == {"tenantA-web"}
        assert "tenantB-db" not in m.get().data_xml
        select = "/sg:graphs/sg:graph[sg:name='tenantB-db']"
        found = m.get_config("running", filter=("xpath", ({"sg": SG}, select))).data_xml
        assert "tenantB-db" not in found
        subtree = f'<graphs xmlns="{SG}"><graph><name>tenantB-db</name></graph></graphs>'
        assert "tenantB-db" not in m.get_config("running", filter=("subtree", subtree)).data_xml
    with nc(agent, "bob") as m:
        assert names_in(m.get_config("running").data_xml) == {"tenantB-db"}


def test_tenant_changes_its_own_graph(agent):
    setup_tenants(agent)
    with nc(agent, "alice") as m:
        m.edit_config(target="candidate", config=graphs("tenantA-web", text="by alice"))
        m.commit()
    with nc(agent, "oss") as m:
        assert "tenantA-web by alice" in m.get_config("running").data_xml


def test_tenant_edit_touching_another_tenants_graph_is_refused_whole(agent):
    setup_tenants(agent)
    with nc(agent, "alice") as m:
        with pytest.raises(RPCError) as exc:
            m.edit_config(target="running", config=graphs("tenantB-db", text="by alice"))
        assert "tenantB-db" in denied(exc)
        with pytest.raises(RPCError) as exc:
            m.edit_config(
                target="running", config=graphs("tenantA-web", "tenantB-db", text="by alice")
            )
        assert "tenantB-db" in denied(exc)
        delete_b = graphs("tenantB-db").replace("<graph>", '<graph operation="delete">')
        delete_b = delete_b.replace(
            f'<config xmlns="{NC}">', f'<config xmlns="{NC}" xmlns:nc="{NC}">'
        )
        delete_b = delete_b.replace('operation="delete"', 'nc:operation="delete"')
        with pytest.raises(RPCError) as exc:
            m.edit_config(target="running", config=delete_b)
        assert "tenantB-db" in denied(exc)
        with pytest.raises(RPCError) as exc:  # nor create graphs nobody gave it
            m.edit_config(target="running", config=graphs("tenantA-new"))
        assert "tenantA-new" in denied(exc)
    with nc(agent, "oss") as m:
        running = m.get_config("running").data_xml
        assert "by alice" not in running
        assert names_in(running) == {"tenantA-web", "tenantB-db"}


def test_tenant_cannot_commit_another_tenants_change_left_in_the_candidate(agent):
    setup_tenants(agent)
    with nc(agent, "bob") as m:
        m.edit_config(target="candidate", config=graphs("tenantB-db", text="by bob"))
    with nc(agent, "alice") as m:
        with pytest.raises(RPCError) as exc:
            m.commit()
        assert "tenantB-db" in denied(exc)


def test_tenant_isolation_with_scrapli(agent):
    setup_tenants(agent)
    auth = AuthOptions(username="bob", password=PASSWORD)
    with scrapli_session(agent, auth=auth) as conn:
        read = conn.get_config(source=DatastoreType.RUNNING)
        assert "tenantB-db" in read.result and "tenantA-web" not in read.result
        result = conn.edit_config(
            config=graphs("tenantA-web", text="by bob"), target=DatastoreType.RUNNING
        )
        assert result.failed and "access-denied" in result.result


def test_tenant_is_not_told_about_changes_to_other_tenants_graphs(agent):
    setup_tenants(agent)
    with nc(agent, "alice") as m, nc(agent, "oss") as admin:
        m.create_subscription()
        admin.edit_config(target="running", config=graphs("tenantB-db", text="v2"))
        admin.edit_config(target="running", config=graphs("tenantA-web", text="v2"))
        seen = []
        while True:
            note = m.take_notification(timeout=10)
            assert note is not None, f"no config change for tenantA-web; saw {seen}"
            seen.append(note.notification_xml)
            if "netconf-config-change" in note.notification_xml:
                break
        assert "tenantA-web" in seen[-1]
        assert not any("tenantB-db" in s for s in seen)


# ---- recovery and persistence ----------------------------------------------------------------


def test_recovery_user_bypasses_rules_that_lock_everybody_out(agent):
    lockout = (
        f'<config xmlns="{NC}"><nacm xmlns="{ACM}"><exec-default>deny</exec-default>'
        "<read-default>deny</read-default></nacm></config>"
    )
    with nc(agent, "oss") as m:
        m.edit_config(target="running", config=lockout)  # no rule lists: nobody may do anything
        with pytest.raises(RPCError) as exc:
            m.get_config("running")
        assert denied(exc) == "/nc:rpc/nc:get-config"
    with nc(agent, "rescue") as m:
        assert "exec-default" in m.get_config("running").data_xml
        m.edit_config(
            target="running", config=f'<config xmlns="{NC}">{default_nacm_xml()}</config>'
        )
        m.edit_config(
            target="running",
            config=f'<config xmlns="{NC}"><nacm xmlns="{ACM}"><exec-default>permit</exec-default>'
            "<read-default>permit</read-default></nacm></config>",
        )
    with nc(agent, "oss") as m:
        assert m.get_config("running").ok


def test_nacm_configuration_survives_a_restart(agent):
    setup_tenants(agent)
    agent.restart()
    with nc(agent, "alice") as m:
        assert names_in(m.get_config("running").data_xml) == {"tenantA-web"}
