from __future__ import annotations

import json

import pytest

from nnfv_agent.drivers.naming import Names
from nnfv_agent.drivers.network.nfobjects import ObjectError
from nnfv_agent.drivers.network.nftables import (
    Counter,
    Lsi,
    Nft,
    SteeringError,
    lsi_content,
    render_changes,
    render_drop,
    stale_counters,
)
from nnfv_agent.model.graph import Endpoint, FlowRule, Graph, PortRef

TABLE = "nnfv_n1_lsi"


def listing(*items: tuple[str, dict]) -> str:
    return json.dumps(
        {"nftables": [{"metainfo": {"version": "1.0.6"}}, *({k: v} for k, v in items)]}
    )


def graph(name: str, *rules: FlowRule, endpoints: tuple[str, ...] = ("a", "b")) -> Graph:
    return Graph(
        name=name,
        enabled=True,
        endpoints={e: Endpoint(id=e, kind="interface", interface=f"{name}{e}") for e in endpoints},
        rules={r.id: r for r in rules},
    )


def rule(rid: str, src: str, dst: str, priority: int = 10) -> FlowRule:
    return FlowRule(
        id=rid,
        priority=priority,
        port_in=PortRef(endpoint=src),
        match=(("ether-type", "2048"),),
        outputs=(PortRef(endpoint=dst),),
        drop=False,
        rewrites=(),
    )


def devices(g: Graph) -> dict[str, str]:
    return {str(PortRef(endpoint=e)): ep.interface or "" for e, ep in g.endpoints.items()}


# ifindex of the test's devices: g<graph><endpoint>, e.g. g1b -> 112
def ifindex(device: str) -> int:
    return 100 + 10 * int(device[1]) + "abc".index(device[2])


def content(g: Graph):
    return lsi_content(g, devices(g), ifindex)


def test_lsi_content_has_one_base_chain_per_port_and_one_counter_per_rule():
    g = graph("g1", rule("r1", "a", "b"), rule("r2", "b", "a"))
    c = content(g)
    assert {ch.device for ch in c.chains} == {"g1a", "g1b"}
    assert {ch.name for ch in c.chains} == {
        Names.lsi_chain("g1", "g1a"),
        Names.lsi_chain("g1", "g1b"),
    }
    assert c.counters == {Names.counter("g1", "r1"), Names.counter("g1", "r2")}
    chain_a = next(ch for ch in c.chains if ch.device == "g1a")
    assert chain_a.rules == (
        f'ether type 0x0800 counter name "{Names.counter("g1", "r1")}" fwd to 111 comment "r1"',
    )


def test_rules_of_a_port_run_highest_priority_first():
    g = graph("g1", rule("low", "a", "b", priority=1), rule("high", "a", "b", priority=9))
    chain_a = next(ch for ch in content(g).chains if ch.device == "g1a")
    assert [r.rsplit('"', 2)[1] for r in chain_a.rules] == ["high", "low"]


def test_adding_a_graph_adds_its_counters_then_fills_its_chains():
    g = graph("g1", rule("r1", "a", "b"))
    tag = Names.lsi_tag("g1")
    text = render_changes(TABLE, {}, {tag: content(g)})
    lines = text.splitlines()
    assert lines[0] == f"add table netdev {TABLE}"
    counter = Names.counter("g1", "r1")
    chain = Names.lsi_chain("g1", "g1a")
    assert lines.index(f"add counter netdev {TABLE} {counter}") < lines.index(
        f"flush chain netdev {TABLE} {chain}"
    )
    fill = lines.index(f"flush chain netdev {TABLE} {chain}") + 1
    assert lines[fill].startswith(f"add chain netdev {TABLE} {chain} {{ type filter hook")
    assert lines[fill + 1].strip().endswith('comment "r1"') and lines[fill + 2] == "}"
    assert "add rule" not in text and "delete" not in text


def test_a_rule_change_touches_only_its_own_graph():
    g1, g2 = graph("g1", rule("r1", "a", "b")), graph("g2", rule("r1", "a", "b"))
    present = {Names.lsi_tag(n): content(g).objects() for n, g in (("g1", g1), ("g2", g2))}
    changed = graph("g1", rule("r1", "a", "b"), rule("r2", "b", "a"))
    text = render_changes(TABLE, present, {Names.lsi_tag("g1"): content(changed)})
    assert Names.lsi_tag("g2") not in text
    assert f"add counter netdev {TABLE} {Names.counter('g1', 'r2')}" in text


def test_a_new_rule_rewrites_only_the_chain_of_its_port_and_adds_only_its_counter():
    before = graph("g1", rule("r1", "a", "b"), rule("r2", "b", "a"))
    after = graph("g1", rule("r1", "a", "b"), rule("r2", "b", "a"), rule("r3", "a", "b"))
    tag = Names.lsi_tag("g1")
    text = render_changes(TABLE, {tag: content(before).objects()}, {tag: content(after)})
    chain_a, chain_b = Names.lsi_chain("g1", "g1a"), Names.lsi_chain("g1", "g1b")
    assert f"flush chain netdev {TABLE} {chain_a}" in text
    assert chain_b not in text
    added = [line.split()[-1] for line in text.splitlines() if line.startswith("add counter")]
    assert added == [Names.counter("g1", "r3")]


def test_a_chain_whose_device_was_made_again_is_written_again():
    g = graph("g1", rule("r1", "a", "b"))
    tag = Names.lsi_tag("g1")
    present = {tag: content(g).objects()}
    again = lsi_content(g, devices(g), lambda d: ifindex(d) + (50 if d == "g1b" else 0))
    text = render_changes(TABLE, present, {tag: again})
    chain_a, chain_b = Names.lsi_chain("g1", "g1a"), Names.lsi_chain("g1", "g1b")
    # g1b's own chain (its hook) and g1a's chain (its rule forwards to g1b's new index)
    assert f"flush chain netdev {TABLE} {chain_b}" in text
    assert "fwd to 161" in text and f"flush chain netdev {TABLE} {chain_a}" in text


def test_an_unchanged_graph_costs_nothing_but_the_table_line():
    g = graph("g1", rule("r1", "a", "b"))
    tag = Names.lsi_tag("g1")
    text = render_changes(TABLE, {tag: content(g).objects()}, {tag: content(g)})
    assert text.splitlines() == [f"add table netdev {TABLE}"]


def test_a_record_read_back_from_the_kernel_has_every_chain_written_again():
    g = graph("g1", rule("r1", "a", "b"))
    tag = Names.lsi_tag("g1")
    objects = content(g).objects()
    from_kernel = Lsi(objects.chains, objects.counters)  # what Nft.lsis returns
    text = render_changes(TABLE, {tag: from_kernel}, {tag: content(g)})
    assert text.count("flush chain") == 2
    assert "add counter" not in text


def test_a_removed_rule_leaves_its_counter_to_be_deleted_after_the_batch():
    before = graph("g1", rule("r1", "a", "b"), rule("r2", "b", "a"))
    after = graph("g1", rule("r1", "a", "b"))
    tag = Names.lsi_tag("g1")
    present, wanted = {tag: content(before).objects()}, {tag: content(after)}
    gone = Names.counter("g1", "r2")
    # In the batch, a `delete` would make nft fetch every chain and counter of the table.
    assert gone not in render_changes(TABLE, present, wanted)
    assert stale_counters(present, wanted) == [gone]


def test_a_kept_rule_keeps_its_counter():
    g = graph("g1", rule("r1", "a", "b"))
    tag = Names.lsi_tag("g1")
    assert stale_counters({tag: content(g).objects()}, {tag: content(g)}) == []


def test_a_removed_port_deletes_its_chain_before_any_chain_is_added():
    before = graph("g1", endpoints=("a", "b", "c"))
    after = graph("g2", endpoints=("c",))  # the device g1c does not move; g2c is new
    present = {Names.lsi_tag("g1"): content(before).objects()}
    wanted = {
        Names.lsi_tag("g1"): content(graph("g1", endpoints=("a", "b"))),
        Names.lsi_tag("g2"): content(after),
    }
    lines = render_changes(TABLE, present, wanted).splitlines()
    gone = Names.lsi_chain("g1", "g1c")
    first_add = next(i for i, line in enumerate(lines) if "hook ingress" in line)
    assert lines.index(f"delete chain netdev {TABLE} {gone}") < first_add
    assert lines[lines.index(f"delete chain netdev {TABLE} {gone}") - 1] == (
        f"add chain netdev {TABLE} {gone}"
    )


def test_removing_a_graph_deletes_all_its_chains_and_counters_and_nothing_else():
    g1, g2 = graph("g1", rule("r1", "a", "b")), graph("g2", rule("r1", "a", "b"))
    present = {Names.lsi_tag(n): content(g).objects() for n, g in (("g1", g1), ("g2", g2))}
    wanted = {Names.lsi_tag("g1"): None}
    text = render_changes(TABLE, present, wanted)
    deleted = {line.split()[-1] for line in text.splitlines() if line.startswith("delete")}
    assert deleted == set(present[Names.lsi_tag("g1")].chains)
    assert stale_counters(present, wanted) == sorted(present[Names.lsi_tag("g1")].counters)
    assert "hook ingress" not in text


def test_legacy_tables_are_dropped_in_the_same_batch():
    text = render_changes(TABLE, {}, {}, drop_tables=("nnfv_n1_0123456789ab",))
    assert text.startswith(render_drop(("nnfv_n1_0123456789ab",)))
    assert "delete table netdev nnfv_n1_0123456789ab" in text


def test_counters_reads_only_the_named_table():
    calls = []

    def run(command, json=False):
        calls.append((command, json))
        return listing(
            ("counter", {"table": TABLE, "name": "c1", "packets": 3, "bytes": 180}),
            ("counter", {"table": "other", "name": "c2", "packets": 1, "bytes": 1}),
        )

    assert Nft(run, lambda: [TABLE]).counters(TABLE) == {"c1": Counter(3, 180)}
    assert calls == [(f"list counters table netdev {TABLE}", True)]


def test_counters_of_a_table_not_there_are_none_and_nft_is_not_run():
    def run(command, json=False):
        raise AssertionError("nft must not run")

    assert Nft(run, lambda: []).counters(TABLE) == {}


def test_lsis_group_chains_and_counters_by_graph_tag_and_skip_foreign_objects():
    t1, t2 = Names.lsi_tag("g1"), Names.lsi_tag("g2")

    def run(command, json=False):
        assert (command, json) == (f"list table netdev {TABLE}", True)
        return listing(
            ("table", {"name": TABLE}),
            ("chain", {"table": TABLE, "name": f"{t1}_lan0"}),
            ("chain", {"table": TABLE, "name": "someone_elses"}),
            ("counter", {"table": TABLE, "name": f"{t1}_r0123"}),
            ("counter", {"table": TABLE, "name": f"{t2}_r4567"}),
        )

    assert Nft(run, lambda: [TABLE]).lsis(TABLE, Names.tag_of) == {
        t1: Lsi(frozenset({f"{t1}_lan0"}), frozenset({f"{t1}_r0123"})),
        t2: Lsi(frozenset(), frozenset({f"{t2}_r4567"})),
    }


def test_chains_lists_only_the_named_table():
    def run(command, json=False):
        assert (command, json) == ("list chains netdev", True)
        return listing(
            ("chain", {"table": TABLE, "name": "a"}), ("chain", {"table": "x", "name": "b"})
        )

    assert Nft(run).chains(TABLE) == {"a"}


def test_table_inventory_comes_from_the_netlink_lister_when_given_and_never_runs_nft():
    calls: list[str] = []

    def run(command: str, json: bool = False) -> str:
        calls.append(command)
        return ""

    assert Nft(run, lambda: ["nnfv_a", "x"]).tables() == ["nnfv_a", "x"]
    assert calls == []


def test_delete_counters_goes_to_the_deleter_and_not_to_nft():
    commands: list[str] = []
    deleted: list[tuple[str, list[str]]] = []
    nft = Nft(
        lambda c, j: commands.append(c) or "", None, lambda t, n: deleted.append((t, list(n)))
    )
    nft.delete_counters(TABLE, ["c1", "c2"])
    nft.delete_counters(TABLE, [])
    assert deleted == [(TABLE, ["c1", "c2"])]
    assert commands == []


def test_delete_counters_without_a_deleter_runs_nft_commands_that_hold_if_one_is_gone():
    commands: list[str] = []
    Nft(lambda c, j: commands.append(c) or "").delete_counters(TABLE, ["c1"])
    assert commands == [f"add counter netdev {TABLE} c1\ndelete counter netdev {TABLE} c1\n"]


def test_a_refused_counter_deletion_is_a_steering_error():
    def refuse(table: str, names: object) -> None:
        raise ObjectError("cannot delete counter c1: Device or resource busy")

    with pytest.raises(SteeringError, match="c1: Device or resource busy"):
        Nft(lambda c, j: "", None, refuse).delete_counters(TABLE, ["c1"])
