"""Filters from a hostile client: bounded in time and size, refused clearly, never shared stalls."""

from __future__ import annotations

import threading
from pathlib import Path

from support.agentproc import example_config
from support.clients import RawClient
from support.hostile import log_has, wait_until
from support.replies import assert_ok, data_of, field, info, the_error

NFG = "urn:nnfv:yang:nnfv-service-graph"
GET_CONFIG = "<get-config><source><running/></source></get-config>"
# Four nested scans of every node: hours on a few hundred nodes, whatever the machine.
COSTLY = "//*[count(//*[count(//*[count(//*[count(//*) > 0]) > 0]) > 0]) > 0]"


def _children(pid: int) -> list[str]:
    return [
        child
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _xpath_get(select: str, nsmap: str = "") -> str:
    return (
        f"<get-config><source><running/></source>"
        f'<filter type="xpath" select="{select}" {nsmap}/></get-config>'
    )


def _load(raw: RawClient, *examples: str) -> None:
    for name in examples:
        assert_ok(
            raw.rpc(f"<edit-config><target><running/></target>{example_config(name)}</edit-config>")
        )


def test_xpath_filter_with_an_exslt_regular_expression_is_refused(raw):
    _load(raw, "graph-firewall-nat.xml")
    reply = raw.rpc(
        _xpath_get("//*[re:test(., '^(a+)+$')]", 'xmlns:re="http://exslt.org/regular-expressions"')
    )
    err = the_error(reply)
    assert field(err, "error-tag") == "invalid-value"
    assert info(err, "bad-attribute") == "select"
    assert "Unregistered function" in field(err, "error-message")


def test_costly_xpath_filter_is_stopped_with_resource_denied_while_others_are_served(
    agent_factory,
):
    agent = agent_factory(xpath_timeout=2)
    attacker, other = RawClient(agent), RawClient(agent)
    try:
        _load(other, "graph-firewall-nat.xml", "template-firewall.xml")
        replies: list[str] = []
        attack = threading.Thread(target=lambda: replies.append(attacker.rpc(_xpath_get(COSTLY))))
        attack.start()
        # Served while the attack runs (before the fix, the agent stalled with it).
        for _ in range(3):
            data_of(other.rpc(GET_CONFIG))
        attack.join(30)
        assert not attack.is_alive()
        err = the_error(replies[0])
        assert field(err, "error-tag") == "resource-denied"
        assert "longer than 2 s" in field(err, "error-message")
        assert log_has(agent.log, "filter stopped: it took longer than 2 s")
    finally:
        attacker.close()
        other.close()


def test_costly_xpath_stops_when_its_session_is_killed(agent_factory):
    agent = agent_factory(xpath_timeout=600)
    attacker, killer = RawClient(agent), RawClient(agent)
    try:
        _load(killer, "graph-firewall-nat.xml", "template-firewall.xml")
        attacker.send(
            '<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="9">'
            f"{_xpath_get(COSTLY)}</rpc>"
        )
        victim = attacker.server_hello.split("<session-id>")[1].split("<")[0]
        wait_until(lambda: _children(agent.proc.pid))  # the evaluation has started
        assert_ok(killer.rpc(f"<kill-session><session-id>{victim}</session-id></kill-session>"))
        assert log_has(agent.log, "filter stopped: its session ended", timeout=20)
        assert wait_until(lambda: not _children(agent.proc.pid))  # no work left behind
        data_of(killer.rpc(GET_CONFIG))
    finally:
        attacker.close()
        killer.close()


def test_invalid_xpath_on_an_empty_datastore_returns_invalid_value(raw):
    err = the_error(raw.rpc(_xpath_get("///[")))
    assert field(err, "error-tag") == "invalid-value"
    assert info(err, "bad-attribute") == "select"


def test_unprefixed_xpath_selects_the_one_module_that_has_those_names(raw):
    _load(raw, "graph-firewall-nat.xml")
    data = data_of(raw.rpc(_xpath_get("/graphs/graph/name")))
    names = data.findall(f"{{{NFG}}}graphs/{{{NFG}}}graph/{{{NFG}}}name")
    assert [n.text for n in names] == ["fw-nat"]


def test_filter_with_more_elements_than_max_message_elements_is_too_big(agent_factory):
    agent = agent_factory(max_message_elements=1000)
    raw = RawClient(agent)
    try:
        siblings = f'<graphs xmlns="{NFG}"/>' * 5000
        err = the_error(
            raw.rpc(
                f"<get-config><source><running/></source><filter>{siblings}</filter></get-config>"
            )
        )
        assert field(err, "error-tag") == "too-big"
        assert "max_message_elements" in field(err, "error-message")
        data_of(raw.rpc(GET_CONFIG))
    finally:
        raw.close()
