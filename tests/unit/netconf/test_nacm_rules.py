"""netconf/nacm_rules.py: the index that finds the data rules which may decide a node."""

from __future__ import annotations

import random

from nnfv_agent.netconf.nacm_rules import (
    Address,
    DataRuleIndex,
    Rule,
    Step,
    path_covers,
)

SG = "urn:nnfv:yang:nnfv-service-graph"
NT = "urn:nnfv:yang:nnfv-nnf-template"


def data_rule(name: str, *path: Step, permit: bool = True) -> Rule:
    return Rule(name, "*", "data", None, tuple(path), frozenset({"*"}), permit)


def graph(name: str | None = None) -> Step:
    return Step(SG, "graph", (("name", name),) if name else ())


def nf(nid: str | None = None) -> Step:
    return Step(SG, "nf", (("id", nid),) if nid else ())


GRAPHS = Step(SG, "graphs")


def first_covering(rules: list[Rule], address: Address, index: DataRuleIndex) -> int | None:
    for i in index.candidates(address):
        rule = rules[i]
        if rule.kind == "any" or path_covers(rule.path or (), address):
            return i
    return None


def linear(rules: list[Rule], address: Address) -> int | None:
    for i, rule in enumerate(rules):
        if rule.kind == "any" or (rule.kind == "data" and path_covers(rule.path or (), address)):
            return i
    return None


def test_a_graph_is_decided_by_its_own_rule_and_the_unkeyed_ones_only():
    rules = [data_rule(f"g{i}", GRAPHS, graph(f"g{i}")) for i in range(50)]
    rules.append(data_rule("no-other-graph", GRAPHS, graph(), permit=False))
    index = DataRuleIndex(rules)
    assert index.candidates((GRAPHS, graph("g7"))) == [7, 50]
    assert index.candidates((GRAPHS, graph("other"))) == [50]
    assert index.candidates((GRAPHS,)) == [50]


def test_rpc_and_notification_rules_are_never_candidates_for_data():
    rules = [
        Rule("rpc", "*", "rpc", "commit", None, frozenset({"exec"}), False),
        Rule("any", "*", "any", None, None, frozenset({"*"}), True),
        Rule("note", "*", "notification", "*", None, frozenset({"read"}), False),
    ]
    assert DataRuleIndex(rules).candidates((GRAPHS, graph("g"))) == [1]


def test_a_rule_keyed_below_the_first_level_is_found_through_that_entry():
    rules = [
        data_rule("nf-x", GRAPHS, graph(), nf("x")),
        data_rule("g-a-nf-y", GRAPHS, graph("a"), nf("y")),
    ]
    index = DataRuleIndex(rules)
    assert index.candidates((GRAPHS, graph("a"), nf("x"))) == [0, 1]
    assert index.candidates((GRAPHS, graph("b"), nf("x"))) == [0]


def test_a_rule_naming_some_keys_of_a_list_matches_entries_with_more_keys():
    entry = Step(NT, "port", (("index", "0"), ("name", "in")))
    rules = [data_rule("by-name", Step(NT, "port", (("name", "in"),)))]
    assert DataRuleIndex(rules).candidates((entry,)) == [0]


def test_the_index_finds_the_same_first_rule_as_testing_every_rule_in_order():
    rnd = random.Random(8341)
    names, ids = ["a", "b", "c", None], ["x", "y", None]
    for _ in range(300):
        rules = []
        for i in range(rnd.randint(0, 12)):
            kind = rnd.choice(["data", "data", "data", "any", "rpc"])
            if kind != "data":
                rules.append(Rule(f"r{i}", "*", kind, None, None, frozenset({"*"}), True))
                continue
            path: list[Step] = [GRAPHS]
            if rnd.random() < 0.8:
                path.append(graph(rnd.choice(names)))
                if rnd.random() < 0.5:
                    path.append(nf(rnd.choice(ids)))
            rules.append(data_rule(f"r{i}", *path[: rnd.randint(0, len(path))]))
        index = DataRuleIndex(rules)
        for _ in range(10):
            address: tuple[Step, ...] = (GRAPHS,)
            if rnd.random() < 0.9:
                address += (graph(rnd.choice(names[:3])),)
                if rnd.random() < 0.6:
                    address += (nf(rnd.choice(ids[:2])),)
            assert first_covering(rules, address, index) == linear(rules, address), (
                rules,
                address,
            )
