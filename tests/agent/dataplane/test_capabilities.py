"""Node capabilities, NF resolution, admission control and notifications, on a real agent."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from lxml import etree
from ncclient import manager

from graphs import endpoint, graphs_config, nf_xml, rule
from nnfv_agent.netconf.client import NetconfError
from simfleet import PASSWORD, USER
from support.clients import ncclient_connect

from .conftest import NC, NT, SG, simulated_cpe, template_xml, tool_dir

ROOT = Path(__file__).resolve().parents[3]
NODE = "urn:nnfv:yang:nnfv-node"
NODE_FILTER = f'<node xmlns="{NODE}"/>'
TOOL = "nnfv-test-tool"


@pytest.fixture
def tool_cpe(tmp_path):
    """A CPE whose agent also looks for executables in a directory the test controls."""
    bin_dir, path = tool_dir(tmp_path)
    with simulated_cpe(tmp_path, monitor_interval="0.3", executable_path=path) as sim:
        sim.bin_dir = bin_dir
        yield sim


def connect(cpe) -> manager.Manager:
    return ncclient_connect(cpe, username=USER, password=PASSWORD)


def one_nf_graph(name: str, ftype: str) -> str:
    return (
        f"<graph><name>{name}</name>{nf_xml('x', ftype)}{endpoint('lan', 'lan0')}"
        f"{endpoint('wan', 'wan0')}"
        + rule("1", 10, "endpoint:lan", ["nf:x:in"])
        + rule("2", 10, "nf:x:out", ["endpoint:wan"])
        + "</graph>"
    )


def function(cpe, ftype: str) -> etree._Element:
    root = etree.fromstring(cpe.get_state(NODE_FILTER).encode())
    for fn in root.iter(f"{{{NODE}}}function"):
        if fn.findtext(f"{{{NODE}}}functional-type") == ftype:
            return fn
    raise AssertionError(f"no function {ftype}")


SESSION_EVENTS = ("netconf-session-start", "netconf-session-end")


def notifications(m: manager.Manager, count: int, timeout: float = 10) -> list[etree._Element]:
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        n = m.take_notification(timeout=0.5)
        if n is not None:
            event = etree.fromstring(n.notification_xml.encode())[1]
            # RFC 6470 session events come and go with every client of the test.
            if etree.QName(event).localname not in SESSION_EVENTS:
                out.append(event)
    return out


def kinds(events: list[etree._Element]) -> list[str]:
    out = []
    for e in events:
        name = etree.QName(e).localname
        detail = e.findtext(f"{{{SG}}}state") or e.findtext(f"{{{SG}}}event") or ""
        out.append(f"{name}:{detail}" if detail else name)
    return out


def test_capability_data_validates_with_yanglint(cpe, tmp_path):
    reply = etree.fromstring(cpe.get_state(NODE_FILTER).encode())
    data = reply.find(f"{{{NC}}}data")
    doc = tmp_path / "node.xml"
    doc.write_bytes(etree.tostring(data[0]))
    yang = ROOT / "yang"
    proc = subprocess.run(
        [
            "yanglint",
            "-p",
            str(yang),
            "-p",
            str(yang / "ietf"),
            "-t",
            "data",
            str(yang / "nnfv-node.yang"),
            str(doc),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    text = doc.read_text()
    assert "<functional-type>firewall</functional-type>" in text
    assert "<name>nftables</name><available>true</available>" in text
    assert "<name>vlan</name><available>false</available>" in text
    # Named as in the YANG descriptions; tc flower is probed (this kernel lacks it).
    assert "<name>cgroup-memory</name>" in text
    assert "<name>tc-flower</name><available>false</available>" in text
    # Only execution environments this agent has a compute driver for.
    envs = [e.text for e in data.iter(f"{{{NODE}}}execution-environment")]
    assert envs == ["native"]
    assert "<memory-total>" in text and "<disk-free>" in text


def test_ipsec_is_reported_not_ready_because_kernel_esp_is_missing(cpe):
    fn = function(cpe, "ipsec")
    assert fn.findtext(f"{{{NODE}}}ready") == "false"
    assert "kernel ESP missing" in fn.findtext(f"{{{NODE}}}reason")
    with pytest.raises(NetconfError) as err:
        cpe.push(one_nf_graph("vpn", "ipsec"))
    assert "missing capability" in err.value.message and "esp" in err.value.message
    cpe.assert_clean()


def test_missing_executable_makes_capability_not_ready_until_installed(tool_cpe, tmp_path):
    cpe = tool_cpe
    scripts = {"start": "true", "stop": "true"}
    tpl = template_xml(tmp_path, "tooled", scripts, ftype="tooling")
    tpl = tpl.replace(
        "</sharable>",
        f"</sharable><dependency><kind>executable</kind><name>{TOOL}</name></dependency>",
    )
    cpe.commit(tpl)
    fn = function(cpe, "tooling")
    assert fn.findtext(f"{{{NODE}}}ready") == "false"
    assert f"missing capability: executable {TOOL}" in fn.findtext(f"{{{NODE}}}reason")
    with pytest.raises(NetconfError) as err:
        cpe.push(one_nf_graph("g", "tooling"))
    assert f"executable {TOOL}" in err.value.message
    with connect(cpe) as m:
        m.create_subscription()
        tool = cpe.bin_dir / TOOL
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
        change = None
        deadline = time.monotonic() + 60  # a generous deadline for a loaded machine, not a bound
        while change is None and time.monotonic() < deadline:
            for event in notifications(m, 1, timeout=1):
                if etree.QName(event).localname == "capability-change":
                    change = event
    assert change is not None, "no capability-change after the executable appeared"
    assert change.findtext(f"{{{NODE}}}functional-type") == "tooling"
    assert change.findtext(f"{{{NODE}}}ready") == "true"
    assert function(cpe, "tooling").findtext(f"{{{NODE}}}ready") == "true"
    cpe.push(one_nf_graph("g", "tooling"))
    cpe.remove_all()
    cpe.assert_clean()


def test_graph_over_the_memory_limit_is_refused_with_resource_denied(cpe, tmp_path):
    tpl = template_xml(tmp_path, "hog", {"start": "true", "stop": "true"})
    tpl = tpl.replace(
        "</sharable>", "</sharable><resources><memory>1099511627776</memory></resources>"
    )
    cpe.commit(tpl)
    with cpe.client() as c:
        before = c.get_config("running")
        c.edit_config(graphs_config(one_nf_graph("big", "hog")))
        with pytest.raises(NetconfError) as err:
            c.commit()
        assert c.get_config("running").split("<data", 1)[1] == before.split("<data", 1)[1]
    assert err.value.tag == "resource-denied"
    assert "1099511627776 bytes" in err.value.message and "free" in err.value.message
    cpe.assert_clean()


def test_subscriber_receives_deploy_and_failure_events_in_order(cpe, tmp_path):
    cpe.commit(
        template_xml(tmp_path, "broken", {"start": "echo bad config >&2; exit 2", "stop": "true"})
    )
    with connect(cpe) as m:
        m.create_subscription()
        cpe.push(one_nf_graph("good", "bridge"))
        deploy = notifications(m, 3)
        assert kinds(deploy) == [
            "nf-state-change:started",
            "graph-change:deployed",
            "netconf-config-change",
        ]
        with pytest.raises(NetconfError):
            cpe.push(one_nf_graph("good", "broken"))
        failure = notifications(m, 4)
    # The bridge is replaced by the broken NF: stopped, the new one fails, rollback restarts.
    assert kinds(failure)[:2] == ["nf-state-change:stopped", "nf-state-change:failed"]
    failed = failure[1]
    assert "exited with 2" in failed.findtext(f"{{{SG}}}reason")
    assert "bad config" in failed.findtext(f"{{{SG}}}reason")
    assert "graph-change:failed" in kinds(failure)
    cpe.remove_all()
    cpe.assert_clean()


def test_second_client_filter_and_replay(cpe):
    with connect(cpe) as everything, connect(cpe) as graphs_only, connect(cpe) as xpath_only:
        everything.create_subscription()
        graphs_only.create_subscription(filter=("subtree", f'<graph-change xmlns="{SG}"/>'))
        xpath_only.create_subscription(
            filter=("xpath", ({"g": SG}, "/g:nf-state-change[g:state='started']"))
        )
        cpe.push(one_nf_graph("g1", "bridge"))
        all_events = notifications(everything, 3)
        only = notifications(graphs_only, 1)
        started = notifications(xpath_only, 1)
        # Removal sends nf-state-change, graph-change and netconf-config-change again; events
        # arrive in order, so the next one a filtered subscriber sees proves what it skipped.
        cpe.remove_all()
        removal = notifications(everything, 3)
        only += notifications(graphs_only, 1)
    assert len(all_events) == 3
    assert kinds(only) == ["graph-change:deployed", "graph-change:removed"]
    assert kinds(started) == ["nf-state-change:started"]
    with connect(cpe) as late:
        late.create_subscription(start_time="2000-01-01T00:00:00Z")
        replayed = notifications(late, 7)
    assert kinds(replayed)[:6] == kinds(all_events + removal)
    assert etree.QName(replayed[6]).localname == "replayComplete"


def test_allowed_interface_list_restricts_graph_endpoints(cpe):
    cpe.commit(f'<node xmlns="{NODE}"><allowed-interface>wan0</allowed-interface></node>')
    with pytest.raises(NetconfError) as err:
        cpe.push(one_nf_graph("g", "bridge"))
    assert "lan0 is not in /node/allowed-interface" in err.value.message
    cpe.commit(f'<node xmlns="{NODE}"><allowed-interface>lan0</allowed-interface></node>')
    cpe.push(one_nf_graph("g", "bridge"))
    cpe.remove_all()
    cpe.assert_clean()


def test_templates_configured_through_netconf_appear_in_functional_capabilities(cpe, tmp_path):
    cpe.commit(template_xml(tmp_path, "mine", {"start": "true", "stop": "true"}, ftype="custom-fn"))
    fn = function(cpe, "custom-fn")
    assert fn.findtext(f"{{{NODE}}}ready") == "true"
    assert [t.text for t in fn.iter(f"{{{NODE}}}template")] == ["mine"]
    root = etree.fromstring(cpe.get_state(f'<shipped-templates xmlns="{NT}"/>').encode())
    shipped = {t.findtext(f"{{{NT}}}name") for t in root.iter(f"{{{NT}}}template")}
    assert {"firewall", "nat", "dhcp-server", "bridge", "ipsec"} <= shipped


def test_capability_appearing_before_the_first_monitor_tick_is_announced(tmp_path):
    """The monitor's baseline is taken at start, not at its first tick (2 s here)."""
    bin_dir, path = tool_dir(tmp_path)
    with simulated_cpe(tmp_path, monitor_interval="2", executable_path=path) as sim:
        tpl = template_xml(tmp_path, "tooled", {"start": "true", "stop": "true"}, ftype="tooling")
        sim.commit(
            tpl.replace(
                "</sharable>",
                f"</sharable><dependency><kind>executable</kind><name>{TOOL}</name></dependency>",
            )
        )
        sim.stop_agent()
        sim.start_agent()
        with connect(sim) as m:
            m.create_subscription()
            tool = bin_dir / TOOL
            tool.write_text("#!/bin/sh\nexit 0\n")
            tool.chmod(0o755)
            events = notifications(m, 1, timeout=10)
        assert kinds(events) == ["capability-change"]
        assert events[0].findtext(f"{{{NODE}}}functional-type") == "tooling"
        assert events[0].findtext(f"{{{NODE}}}ready") == "true"
