"""get-data on the operational datastore of a native-data-plane agent: graph status, node
capabilities and shipped templates, with their origin, validated with yanglint."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lxml import etree

from graphs import endpoint, nf_xml, rule

from .conftest import template_xml

ROOT = Path(__file__).resolve().parents[3]
YANG = ROOT / "yang"
NCDS = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
OR = "urn:ietf:params:xml:ns:yang:ietf-origin"
SG = "urn:nnfv:yang:nnfv-service-graph"
NODE = "urn:nnfv:yang:nnfv-node"
NT = "urn:nnfv:yang:nnfv-nnf-template"
NS = {"g": SG, "n": NODE, "t": NT, "or": OR}
ORIGIN = f"{{{OR}}}origin"
DAEMON = {
    "start": 'sleep 3600 & echo $! > "$NNFV_WORKDIR/pid"',
    "stop": 'kill "$(cat "$NNFV_WORKDIR/pid")" 2>/dev/null || true',
}


def get_data(cpe, params: str) -> etree._Element:
    with cpe.client() as c:
        reply = c.rpc(
            f'<get-data xmlns="{NCDS}" xmlns:ds="{DS}"><datastore>ds:operational</datastore>'
            f"{params}</get-data>"
        )
    data = etree.fromstring(reply.encode()).find(f"{{{NCDS}}}data")
    assert data is not None, reply
    return data


def yanglint(data: etree._Element, kind: str, tmp_path: Path) -> None:
    doc = tmp_path / f"operational-{kind}.xml"
    doc.write_bytes(b"".join(etree.tostring(el) for el in data))
    modules = [
        YANG / "nnfv-service-graph.yang",
        YANG / "nnfv-nnf-template.yang",
        YANG / "nnfv-node.yang",
        YANG / "ietf" / "ietf-netconf-monitoring@2010-10-04.yang",
        YANG / "ietf" / "nc-notifications@2008-07-14.yang",
        YANG / "ietf" / "ietf-origin@2018-02-14.yang",
        YANG / "ietf" / "ietf-netconf-acm@2018-02-14.yang",  # /nacm counters are in get
    ]
    proc = subprocess.run(
        ["yanglint", "-y", "-t", kind, "-p", str(YANG), "-p", str(YANG / "ietf")]
        + [str(m) for m in modules]
        + [str(doc)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"{proc.stderr}\n{doc.read_text()}"


def test_operational_shows_graph_status_and_node_state_with_their_origin(cpe, tmp_path):
    graph = (
        f"<graph><name>g1</name>{nf_xml('d', 'daemon')}{endpoint('lan', 'lan0')}"
        f"{endpoint('wan', 'wan0')}"
        + rule("1", 10, "endpoint:lan", ["nf:d:in"])
        + rule("2", 10, "nf:d:out", ["endpoint:wan"])
        + "</graph>"
    )
    cpe.commit(template_xml(tmp_path, "daemon", DAEMON))
    cpe.push(graph)
    try:
        data = get_data(cpe, "<with-origin/>")
        yanglint(data, "data", tmp_path)
        graphs = data.find(f"{{{SG}}}graphs")
        assert graphs is not None and graphs.get(ORIGIN) == "or:intended"
        status = data.xpath("g:graphs/g:graph[g:name='g1']/g:status", namespaces=NS)
        assert status and status[0].get(ORIGIN) == "or:learned"
        nf_status = data.xpath("g:graphs/g:graph/g:nf[g:id='d']/g:status", namespaces=NS)
        assert nf_status and nf_status[0].get(ORIGIN) == "or:learned"
        assert data.xpath("g:graphs/g:graph/g:nf/g:status/g:pid", namespaces=NS)
        for path in ("n:node/n:capabilities", "n:node/n:resources"):
            found = data.xpath(path, namespaces=NS)
            assert found and found[0].get(ORIGIN) == "or:system", path
        shipped = data.find(f"{{{NT}}}shipped-templates")
        if shipped is not None:
            assert shipped.get(ORIGIN) == "or:system"

        state = get_data(
            cpe,
            f'<subtree-filter><graphs xmlns="{SG}"/></subtree-filter>'
            "<config-filter>false</config-filter>",
        )
        yanglint(state, "get", tmp_path)
        entry = state.xpath("g:graphs/g:graph[g:name='g1']", namespaces=NS)[0]
        # only the keys and the state remain of the graph's configuration
        assert {etree.QName(c).localname for c in entry} == {"name", "nf", "flow-rule", "status"}
        for rule_entry in entry.findall(f"{{{SG}}}flow-rule"):
            assert [etree.QName(c).localname for c in rule_entry] == ["id", "counters"]
        nf_entry = entry.find(f"{{{SG}}}nf")
        assert [etree.QName(c).localname for c in nf_entry] == ["id", "status"]
        assert not state.xpath("//g:endpoint | //g:priority", namespaces=NS)
    finally:
        cpe.remove_all()
    cpe.assert_clean()
