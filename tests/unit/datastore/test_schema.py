"""Schema.parse error paths: a missing mandatory node names each list entry that lacks it."""

from __future__ import annotations

import pytest

from nnfv_agent.datastore.schema import Schema
from nnfv_agent.errors import AgentErrors

SG = "urn:nnfv:yang:nnfv-service-graph"
G = "/nfg:graphs/nfg:graph[nfg:name='g1']"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema()


def errors_of(schema: Schema, body: str) -> list:
    xml = f'<graphs xmlns="{SG}"><graph><name>g1</name>{body}</graph></graphs>'
    with pytest.raises(AgentErrors) as err:
        schema.parse(xml, validate=True)
    return err.value.errors


LAN = "<endpoint><id>lan</id><interface>lan0</interface></endpoint>"
ACTION = "<actions><output>endpoint:lan</output></actions>"


def test_missing_mandatory_leaf_error_path_has_the_keys_of_every_entry_lacking_it(schema):
    match = "<match><port-in>endpoint:lan</port-in></match>"
    errors = errors_of(
        schema,
        LAN
        + f"<flow-rule><id>r1</id>{match}{ACTION}</flow-rule>"
        + f"<flow-rule><id>r2</id><priority>5</priority>{match}{ACTION}</flow-rule>"
        + f"<flow-rule><id>r3</id>{match}{ACTION}</flow-rule>",
    )
    assert [(e.kind, e.path) for e in errors] == [
        ("missing-element", f"{G}/nfg:flow-rule[nfg:id='r1']/nfg:priority"),
        ("missing-element", f"{G}/nfg:flow-rule[nfg:id='r3']/nfg:priority"),
    ]
    assert errors[0].info == {"bad-element": "priority"}
    assert errors[0].path_nsmap == {"nfg": SG}


def test_missing_leaf_inside_an_absent_container_is_located_under_its_entry(schema):
    errors = errors_of(
        schema, LAN + f"<flow-rule><id>r1</id><priority>1</priority>{ACTION}</flow-rule>"
    )
    assert [e.path for e in errors] == [f"{G}/nfg:flow-rule[nfg:id='r1']/nfg:match/nfg:port-in"]


def test_missing_mandatory_choice_names_the_entry_without_it(schema):
    errors = errors_of(
        schema,
        "<endpoint><id>a</id></endpoint><endpoint><id>b</id><interface>x</interface></endpoint>",
    )
    assert [(e.kind, e.app_tag, e.path) for e in errors] == [
        ("data-missing", "missing-choice", f"{G}/nfg:endpoint[nfg:id='a']")
    ]
    assert 'choice "type"' in errors[0].message


def test_missing_leaf_in_a_choice_case_path_leaves_out_choice_and_case_names(schema):
    errors = errors_of(
        schema, "<endpoint><id>v</id><vlan><interface>lan0</interface></vlan></endpoint>"
    )
    assert [e.path for e in errors] == [f"{G}/nfg:endpoint[nfg:id='v']/nfg:vlan/nfg:vlan-id"]
