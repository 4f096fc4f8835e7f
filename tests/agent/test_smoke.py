from support.agentproc import example_config
from support.clients import RawClient, ncclient_connect


def test_edit_commit_and_read_back_example_graph(agent):
    with ncclient_connect(agent) as m:
        m.edit_config(target="candidate", config=example_config("graph-firewall-nat.xml"))
        m.commit()
        reply = m.get_config(source="running").data_xml
    assert "<name>fw-nat</name>" in reply


def test_raw_client_base10_gets_ok(agent):
    raw = RawClient(agent, base11=False)
    try:
        assert "<ok/>" in raw.rpc("<lock><target><candidate/></target></lock>")
    finally:
        raw.close()
