"""libyang's errors as NETCONF errors: kind, app-tag, info and a prefixed error-path."""

from __future__ import annotations

import pytest

from nnfv_agent.datastore.yang_errors import (
    YangIssue,
    as_agent_error,
    data_location,
    qualify_path,
)
from nnfv_agent.errors import Kind

SG_NS = "urn:nnfv:yang:nnfv-service-graph"
PREFIXES = {"nnfv-service-graph": "nfg"}
NAMESPACES = {"nnfv-service-graph": SG_NS}


def test_qualify_path_prefixes_every_step_and_key_and_declares_the_prefix() -> None:
    path, nsmap = qualify_path(
        "/nnfv-service-graph:graphs/graph[name='g1']/nf[id='fw']/template", PREFIXES, NAMESPACES
    )
    assert path == "/nfg:graphs/nfg:graph[nfg:name='g1']/nfg:nf[nfg:id='fw']/nfg:template"
    assert nsmap == {"nfg": SG_NS}


def test_data_location_takes_the_path_out_of_libyang_text() -> None:
    text = "Data location \"/nnfv-service-graph:graphs/graph[name='g']\"."
    assert data_location(text) == "/nnfv-service-graph:graphs/graph[name='g']"
    assert data_location("/plain/path") == "/plain/path"


@pytest.mark.parametrize(
    ("message", "app_tag", "kind", "out_tag"),
    [
        ('Mandatory node "template" instance does not exist.', None, Kind.MISSING_ELEMENT, None),
        ("Invalid leafref value.", "instance-required", Kind.DATA_MISSING, "instance-required"),
        ("Missing mandatory choice.", "missing-choice", Kind.DATA_MISSING, "missing-choice"),
        ("Too many elements.", "too-many-elements", Kind.OPERATION_FAILED, "too-many-elements"),
        ('Must condition "x" not satisfied.', None, Kind.OPERATION_FAILED, "must-violation"),
        ('Duplicate instance of "graph".', None, Kind.DATA_EXISTS, None),
        ('Invalid value "abc" of "priority".', None, Kind.INVALID_VALUE, None),
    ],
)
def test_each_libyang_issue_maps_to_its_netconf_kind(
    message: str, app_tag: str | None, kind: Kind, out_tag: str | None
) -> None:
    error = as_agent_error(YangIssue(message, None, 0, app_tag), PREFIXES, NAMESPACES)
    assert error.kind is kind
    assert error.app_tag == out_tag
    assert str(error) == message


def test_missing_element_names_the_bad_element_and_carries_the_path() -> None:
    issue = YangIssue(
        'Mandatory node "template" instance does not exist.',
        "/nnfv-service-graph:graphs/graph[name='g']/nf[id='x']/template",
        0,
        None,
    )
    error = as_agent_error(issue, PREFIXES, NAMESPACES)
    assert error.info == {"bad-element": "template"}
    assert error.path == "/nfg:graphs/nfg:graph[nfg:name='g']/nfg:nf[nfg:id='x']/nfg:template"
    assert error.path_nsmap == {"nfg": SG_NS}
