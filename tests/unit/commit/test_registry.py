from __future__ import annotations

import pytest

from nnfv_agent.commit.changes import Change, ChangeKind, list_keys
from nnfv_agent.commit.registry import (
    GRAPH,
    NACM,
    REGISTRY,
    UnmappedChange,
    classify,
    config_schema_paths,
    missing_entries,
    no_kernel_effect,
)
from nnfv_agent.datastore.schema import Schema


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema()


def test_every_config_node_of_our_modules_has_a_handler_or_no_effect_entry(schema):
    assert missing_entries(schema.ctx) == []


def test_registry_names_no_node_the_schema_does_not_have(schema):
    assert set(REGISTRY) - set(config_schema_paths(schema.ctx)) == set()


def test_a_new_leaf_without_an_entry_is_reported(schema):
    partial = {k: v for k, v in REGISTRY.items() if not k.endswith("/flow-rule/priority")}
    assert missing_entries(schema.ctx, partial) == [GRAPH + "/flow-rule/priority"]


def test_change_to_an_unmapped_node_is_refused_not_ignored():
    change = Change(ChangeKind.CREATED, "/x:y", "/x:y")
    with pytest.raises(UnmappedChange, match="no handler for the configuration node /x:y"):
        classify([change])


def test_only_descriptions_and_access_rules_are_declared_without_kernel_effect():
    quiet = sorted(p for p, h in REGISTRY.items() if h is no_kernel_effect)
    assert all(p.endswith("/description") or p.startswith(NACM) for p in quiet)
    assert NACM + "/rule-list/rule/rule-type/data-node/path" in quiet


def change(kind: ChangeKind, path: str, schema_path: str) -> Change:
    return Change(kind, path, schema_path)


def test_changes_under_a_graph_affect_that_graph_only():
    affected = classify(
        [
            change(
                ChangeKind.CREATED,
                f"{GRAPH}[name='g1']/flow-rule[id='r1']",
                f"{GRAPH}/flow-rule",
            ),
            change(
                ChangeKind.MODIFIED,
                f"{GRAPH}[name='g2']/nf[id='a']/config-parameter[name='m']/value",
                f"{GRAPH}/nf/config-parameter/value",
            ),
        ]
    )
    assert affected.graphs == {"g1", "g2"}
    assert not affected.all_graphs


def test_description_change_affects_nothing():
    affected = classify(
        [change(ChangeKind.MODIFIED, f"{GRAPH}[name='g1']/description", f"{GRAPH}/description")]
    )
    assert affected.empty


def test_template_or_node_policy_change_replans_every_graph():
    tpl = "/nnfv-nnf-template:templates/template"
    affected = classify([change(ChangeKind.MODIFIED, f"{tpl}[name='fw']/sha256", f"{tpl}/sha256")])
    assert affected.all_graphs and affected.templates == {"fw"}
    node = "/nnfv-node:node/allowed-interface"
    affected = classify([change(ChangeKind.CREATED, f"{node}[.='eth0']", node)])
    assert affected.all_graphs and affected.node_policy


def test_list_keys_reads_both_quote_styles():
    path = f"{GRAPH}[name='a\"b']/nf[id=\"it's\"]"
    assert list_keys(path) == {"graph": 'a"b', "nf": "it's"}
