"""The agent's one failure family: kinds, scopes, class-level defaults and bundles.

How a failure becomes an <rpc-error> is tested in tests/unit/netconf/test_errors.py; this file
tests only what the bottom module itself promises.
"""

from __future__ import annotations

import pytest

from nnfv_agent.errors import AgentError, AgentErrors, Kind, Scope


class SlotsExhausted(AgentError):
    """A subclass in the style of the drivers': its defaults are class attributes."""

    kind = Kind.RESOURCE_DENIED
    app_tag = "no-free-slot"


RFC_6241_ERROR_TAGS = {
    "in-use",
    "invalid-value",
    "too-big",
    "missing-attribute",
    "bad-attribute",
    "unknown-attribute",
    "missing-element",
    "bad-element",
    "unknown-element",
    "unknown-namespace",
    "access-denied",
    "lock-denied",
    "resource-denied",
    "rollback-failed",
    "data-exists",
    "data-missing",
    "operation-not-supported",
    "operation-failed",
    "partial-operation",
    "malformed-message",
}


def test_kinds_are_the_rfc_6241_error_tags_but_the_deprecated_partial_operation() -> None:
    assert {k.value for k in Kind} == RFC_6241_ERROR_TAGS - {"partial-operation"}
    assert Kind("in-use") is Kind.IN_USE


def test_unknown_error_tag_is_not_a_kind() -> None:
    with pytest.raises(ValueError):
        Kind("partial-operation")


def test_plain_error_is_an_operation_failure_about_data() -> None:
    err = AgentError("it broke")
    assert (err.kind, err.scope, err.app_tag, err.path) == (
        Kind.OPERATION_FAILED,
        Scope.DATA,
        None,
        None,
    )
    assert err.message == "it broke"
    assert str(err) == "it broke"
    assert (err.path_nsmap, err.info) == ({}, {})


def test_keyword_arguments_override_the_defaults() -> None:
    err = AgentError(
        "locked",
        kind=Kind.LOCK_DENIED,
        scope=Scope.REQUEST,
        app_tag="held",
        path="/a:b",
        path_nsmap={"a": "urn:a"},
        info={"session-id": "3"},
    )
    assert (err.kind, err.scope, err.app_tag, err.path) == (
        Kind.LOCK_DENIED,
        Scope.REQUEST,
        "held",
        "/a:b",
    )
    assert (err.path_nsmap, err.info) == ({"a": "urn:a"}, {"session-id": "3"})


def test_error_keeps_its_own_copy_of_info_and_nsmap() -> None:
    info = {"session-id": "3"}
    nsmap = {"a": "urn:a"}
    err = AgentError("x", info=info, path_nsmap=nsmap)
    info["session-id"] = "4"
    nsmap.clear()
    assert err.info == {"session-id": "3"}
    assert err.path_nsmap == {"a": "urn:a"}


def test_subclass_class_level_kind_and_app_tag_are_its_defaults() -> None:
    err = SlotsExhausted("no slot left for nf fw")
    assert (err.kind, err.app_tag, err.scope) == (Kind.RESOURCE_DENIED, "no-free-slot", Scope.DATA)


def test_subclass_defaults_can_be_overridden_per_instance_without_changing_the_class() -> None:
    err = SlotsExhausted("x", app_tag="other", kind=Kind.IN_USE)
    assert (err.kind, err.app_tag) == (Kind.IN_USE, "other")
    assert (SlotsExhausted.kind, SlotsExhausted.app_tag) == (Kind.RESOURCE_DENIED, "no-free-slot")
    assert SlotsExhausted("y").app_tag == "no-free-slot"


def test_describe_names_the_kind_and_the_path_when_there_is_one() -> None:
    assert AgentError("bad vlan", kind=Kind.INVALID_VALUE, path="/sg:graphs").describe() == (
        "invalid-value at /sg:graphs: bad vlan"
    )
    assert AgentError("it broke").describe() == "operation-failed: it broke"


def test_bundle_keeps_every_error_and_describes_them_all_in_order() -> None:
    first = AgentError("a missing", kind=Kind.MISSING_ELEMENT, path="/x")
    second = AgentError("b bad", kind=Kind.INVALID_VALUE)
    bundle = AgentErrors(iter([first, second]))  # any iterable, read once
    assert bundle.errors == [first, second]
    assert bundle.message == "missing-element at /x: a missing; invalid-value: b bad"


def test_bundle_takes_the_kind_of_its_first_error() -> None:
    bundle = AgentErrors([AgentError("u", kind=Kind.DATA_EXISTS), AgentError("v")])
    assert bundle.kind is Kind.DATA_EXISTS
    assert isinstance(bundle, AgentError)


def test_empty_bundle_is_an_operation_failure_with_an_empty_message() -> None:
    bundle = AgentErrors([])
    assert (bundle.errors, bundle.kind, bundle.message) == ([], Kind.OPERATION_FAILED, "")
