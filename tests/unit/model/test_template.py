"""NNF template descriptors as values: read from config XML (or a shipped template.xml), and
kept in an NF's state file as a dict that reads back to the same value."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from lxml import etree

from nnfv_agent.model.template import (
    NT,
    Parameter,
    Template,
    configured_templates,
    restart_leaves,
    template_from_dict,
    template_from_element,
    template_to_dict,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "agent" / "nnfv_agent" / "yang" / "examples"


def element(body: str, name: str = "t") -> etree._Element:
    return etree.fromstring(
        f'<template xmlns="{NT}"><name>{name}</name>'
        f"<functional-type>firewall</functional-type>{body}</template>"
    )


def example() -> Template:
    return configured_templates((EXAMPLES / "template-firewall.xml").read_text())["nnf-firewall"]


def test_shipped_example_reads_into_a_complete_descriptor() -> None:
    tpl = example()
    assert (tpl.name, tpl.functional_type, tpl.vnf_type, tpl.sharable, tpl.origin) == (
        "nnf-firewall",
        "firewall",
        "native",
        False,
        "configured",
    )
    assert tpl.ports == ("in", "out")
    assert tpl.dependencies == (("executable", "nft"), ("kernel-feature", "nftables"))
    assert (tpl.memory, tpl.memory_limit, tpl.cpu_weight, tpl.pids_limit) == (
        8388608,
        33554432,
        100,
        None,
    )
    assert tpl.parameters == (
        Parameter("allow-tcp-ports", "port-list", "22,80,443", False),
        Parameter("log-drops", "boolean", "false", False),
    )
    assert tpl.script("start") == "scripts/start.sh"


def test_leaves_left_out_take_their_defaults() -> None:
    tpl = template_from_element(element(""))
    assert (tpl.uri, tpl.sha256, tpl.vnf_type, tpl.sharable) == ("", "", "native", False)
    assert (tpl.ports, tpl.scripts, tpl.dependencies, tpl.parameters, tpl.restart) == (
        (),
        (),
        (),
        (),
        (),
    )
    assert (tpl.memory, tpl.memory_limit, tpl.cpu_weight, tpl.pids_limit) == (None,) * 4


def test_ports_are_in_index_order_not_document_order() -> None:
    tpl = template_from_element(
        element(
            "<port><name>wan</name><index>2</index></port>"
            "<port><name>lan</name><index>0</index></port>"
            "<port><name>dmz</name><index>1</index></port>"
        )
    )
    assert tpl.ports == ("lan", "dmz", "wan")


def test_checksum_is_kept_in_lower_case() -> None:
    tpl = template_from_element(element("<sha256>ABCDEF</sha256>"))
    assert tpl.sha256 == "abcdef"


def test_scripts_and_dependencies_are_sorted_and_looked_up_by_event() -> None:
    tpl = template_from_element(
        element(
            "<lifecycle-management-script><event>stop</event><script>s/stop</script>"
            "</lifecycle-management-script>"
            "<lifecycle-management-script><event>start</event><script>s/start</script>"
            "</lifecycle-management-script>"
            "<dependency><kind>package</kind><name>nftables</name></dependency>"
            "<dependency><kind>executable</kind><name>nft</name></dependency>"
        )
    )
    assert tpl.scripts == (("start", "s/start"), ("stop", "s/stop"))
    assert (tpl.script("stop"), tpl.script("update")) == ("s/stop", None)
    assert tpl.dependencies == (("executable", "nft"), ("package", "nftables"))


def test_parameters_keep_document_order_with_string_and_optional_defaults() -> None:
    tpl = template_from_element(
        element(
            "<parameter><name>b</name><mandatory>true</mandatory></parameter>"
            "<parameter><name>a</name><type>uint16</type><default>3</default></parameter>"
        )
    )
    assert tpl.parameters == (
        Parameter("b", "string", None, True),
        Parameter("a", "uint16", "3", False),
    )
    assert tpl.parameter("a") == Parameter("a", "uint16", "3", False)
    assert tpl.parameter("c") is None


def test_sharable_and_origin_are_read_as_given() -> None:
    tpl = template_from_element(element("<sharable>true</sharable>"), origin="shipped")
    assert (tpl.sharable, tpl.origin) == (True, "shipped")


def test_template_without_a_mandatory_leaf_is_refused_naming_it() -> None:
    el = etree.fromstring(f'<template xmlns="{NT}"><name>t</name></template>')
    with pytest.raises(ValueError, match="template element template: no functional-type"):
        template_from_element(el)


def test_restart_policy_leaves_are_kept_by_local_name_sorted_and_stripped() -> None:
    policy = etree.fromstring(
        f'<restart-policy xmlns="{NT}"><retry-interval-multiplier>2</retry-interval-multiplier>'
        "<!-- a comment --><auto-restart> true </auto-restart></restart-policy>"
    )
    assert restart_leaves(policy) == (("auto-restart", "true"), ("retry-interval-multiplier", "2"))
    assert restart_leaves(None) == ()
    tpl = template_from_element(element(etree.tostring(policy).decode()))
    assert tpl.restart == restart_leaves(policy)


def test_configured_templates_reads_every_templates_container_by_name() -> None:
    xml = (
        f'<templates xmlns="{NT}"><template><name>a</name><functional-type>nat</functional-type>'
        "</template></templates>"
        f'<templates xmlns="{NT}"><template><name>b</name><functional-type>fw</functional-type>'
        "</template></templates>"
        '<graphs xmlns="urn:nnfv:yang:nnfv-service-graph"/>'
    )
    found = configured_templates(xml)
    assert list(found) == ["a", "b"]
    assert found["a"].functional_type == "nat"


@pytest.mark.parametrize("xml", ["", "  \n"], ids=["empty", "blank"])
def test_empty_configuration_has_no_templates(xml: str) -> None:
    assert configured_templates(xml) == {}


def test_descriptor_survives_a_json_state_file_round_trip() -> None:
    tpl = dataclasses.replace(example(), restart=(("auto-restart", "false"),))
    stored = json.loads(json.dumps(template_to_dict(tpl)))
    assert template_from_dict(stored) == tpl


def test_descriptor_written_before_restart_policies_reads_back_without_one() -> None:
    stored = json.loads(json.dumps(template_to_dict(example())))
    del stored["restart"]
    assert template_from_dict(stored).restart == ()


def test_descriptor_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        example().ports = ()  # type: ignore[misc]
