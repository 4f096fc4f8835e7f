"""The one mapping from the AgentError family to RFC 6241 <rpc-error> elements."""

from lxml import etree

from nnfv_agent.drivers.network.links import LinkExists
from nnfv_agent.errors import AgentError, AgentErrors, Kind, Scope
from nnfv_agent.netconf.errors import ErrorType, RpcError, error_reply, rpc_error_elements

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def _fields(el: etree._Element) -> dict[str, str]:
    return {etree.QName(c).localname: (c.text or "") for c in el if c.text}


def test_data_error_becomes_application_rpc_error_with_path_and_app_tag():
    err = AgentError(
        "interface eth1 is already used",
        kind=Kind.INVALID_VALUE,
        app_tag="interface-in-use",
        path="/sg:graphs/sg:graph[sg:name='b']",
        path_nsmap={"sg": "urn:x"},
    )
    [el] = rpc_error_elements(err)
    assert _fields(el) == {
        "error-type": "application",
        "error-tag": "invalid-value",
        "error-severity": "error",
        "error-app-tag": "interface-in-use",
        "error-path": "/sg:graphs/sg:graph[sg:name='b']",
        "error-message": "interface eth1 is already used",
    }
    assert el.find(f"{{{NC}}}error-path").nsmap["sg"] == "urn:x"


def test_request_error_becomes_protocol_rpc_error_with_info():
    err = AgentError("locked", kind=Kind.LOCK_DENIED, scope=Scope.REQUEST, info={"session-id": "7"})
    [el] = rpc_error_elements(err)
    assert _fields(el)["error-type"] == "protocol"
    assert el.findtext(f"{{{NC}}}error-info/{{{NC}}}session-id") == "7"


def test_driver_error_keeps_its_own_kind_and_app_tag():
    [el] = rpc_error_elements(LinkExists("nv1234 exists"))
    assert (_fields(el)["error-tag"], _fields(el)["error-app-tag"]) == (
        "data-exists",
        "link-failed",
    )


def test_bundle_of_errors_gives_one_rpc_error_each():
    bundle = AgentErrors(
        [AgentError("a", kind=Kind.MISSING_ELEMENT), AgentError("b", kind=Kind.INVALID_VALUE)]
    )
    tags = [_fields(el)["error-tag"] for el in rpc_error_elements(bundle)]
    assert tags == ["missing-element", "invalid-value"]


def test_protocol_layer_rpc_error_keeps_netconf_terms_and_echoes_message_id():
    err = RpcError("too-big", "message too big", ErrorType.RPC)
    assert (err.tag, err.type, err.scope) == ("too-big", ErrorType.RPC, Scope.MESSAGE)
    reply = etree.fromstring(error_reply({"message-id": "42"}, err))
    assert reply.get("message-id") == "42"
    assert reply.findtext(f"{{{NC}}}rpc-error/{{{NC}}}error-type") == "rpc"


def test_error_path_prefix_of_the_netconf_namespace_is_declared_in_the_reply():
    # /nc:rpc/nc:lock: "nc" names the reply's default namespace under another prefix, which
    # lxml would drop from the error-path element; a strict client must still resolve it.
    denied = RpcError(
        "access-denied",
        "access denied: you may not run the protocol operation <lock>",
        ErrorType.PROTOCOL,
        path="/nc:rpc/nc:lock",
        path_nsmap={"nc": NC},
    )
    reply = etree.fromstring(error_reply({"message-id": "7"}, denied))
    path = reply.find(f"{{{NC}}}rpc-error/{{{NC}}}error-path")
    assert path is not None and path.text == "/nc:rpc/nc:lock"
    assert path.nsmap["nc"] == NC
