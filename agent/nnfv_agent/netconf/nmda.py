"""RFC 8526 <get-data> and <edit-data>: the NMDA datastores over NETCONF.

Reads go through `BaseOperations.assemble` (the one place replies are built and filtered);
writes go through `Datastores.edit`, as edit-config does. See docs/nmda.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from ..xmlutil import DS, NC, NCDS, WD, identity, local, ns_of, qn
from .dispatch import Reply
from .errors import ErrorType, RpcError, missing_element
from .nmda_tree import ORIGIN, SELECTED, annotate_origin, keep_config, limit_depth, unmark
from .operations import WD_MODES, tag_defaults
from .session import Session

if TYPE_CHECKING:
    from ..datastore.schema import Schema
    from ..datastore.store import Datastores
    from .access import AccessControl
    from .dispatch import Dispatcher
    from .interfaces import KeysOf, OperationalView
    from .operations import BaseOperations

NFG = "urn:nnfv:yang:nnfv-service-graph"
# The <data> elements around reply data (the assembly's and get-data's): not schema nodes.
_WRAPPERS = (("", "data"), (NCDS, "data"))
CONVENTIONAL = ("running", "candidate", "startup")
READABLE = (*CONVENTIONAL, "operational")
WRITABLE = ("running", "candidate")
# Every origin identity of ietf-origin derives from `origin`; configuration in <operational>
# comes from running, so its origin is `intended`.
ORIGINS = ("origin", "intended", "dynamic", "system", "learned", "default", "unknown")
CONFIG_ORIGIN = "intended"

GET_DATA_PARAMS = {
    "datastore",
    "subtree-filter",
    "xpath-filter",
    "config-filter",
    "origin-filter",
    "negated-origin-filter",
    "max-depth",
    "with-origin",
    "with-defaults",
}
EDIT_DATA_PARAMS = {"datastore", "default-operation", "config", "url"}


class NmdaOperations:
    """get-data and edit-data, registered with the dispatcher beside the base operations."""

    def __init__(
        self,
        dispatcher: Dispatcher[Session],
        base: BaseOperations,
        *,
        stores: Datastores,
        schema: Schema,
        access: AccessControl,
        view: OperationalView,
        keys_of: KeysOf,
    ) -> None:
        self.base = base
        self.stores = stores
        self.schema = schema
        self.access = access
        self.view = view
        self.keys_of = keys_of
        dispatcher.register(NCDS, "get-data", self.get_data)
        dispatcher.register(NCDS, "edit-data", self.edit_data)

    # ---- get-data -----------------------------------------------------------------------

    def get_data(self, session: Session, op: etree._Element) -> Reply:
        _only(op, GET_DATA_PARAMS)
        name = _datastore(op, READABLE)
        operational = name == "operational"
        config_filter = _boolean(op, "config-filter")
        with_origin = _param(op, "with-origin") is not None
        if with_origin and not operational:
            raise _invalid(
                "with-origin", "with-origin is only valid on ietf-datastores:operational"
            )
        origins = _origin_filter(op, operational)
        depth = _max_depth(op)
        mode = _with_defaults(op)
        filt = _filter(op)

        stores = self.stores
        if operational:
            config_xml = self.view.operational_xml(stores.xml("running", mode))
            config_xml = self.access.with_counters(config_xml)
            state = self.view.state_data(op)
        else:
            config_xml, state = stores.xml(name, mode), []
        mark = SELECTED if depth is not None and filt is not None else None
        data = self.base.assemble(session, filt, tag_defaults(config_xml, mode), state, mark=mark)

        keys_of, is_config = self.keys_of, self.is_config
        if config_filter is not None:
            data = keep_config(data, config_filter, is_config, keys_of)
        if origins is not None and not origins:  # configuration's origin is filtered out
            data = keep_config(data, False, is_config, keys_of)
        if depth is not None:
            limit_depth(data, depth, keys_of, marked=mark is not None)
        if mark is not None:
            unmark(data)
        nsmap = {None: NCDS, "or": ORIGIN} if with_origin else {None: NCDS}
        wrapper = etree.Element(qn(NCDS, "data"), nsmap=nsmap)
        wrapper.extend(data)
        if with_origin:
            annotate_origin(list(wrapper), is_config, state_origin)
        return [wrapper]

    def is_config(self, element: etree._Element) -> bool | None:
        """Whether a reply element is configuration, from the schema (None: not a data node)."""
        chain = [*reversed(list(element.iterancestors())), element]
        path = [(ns_of(e) or "", local(e)) for e in chain]
        node = self.schema.node_for([p for p in path if p not in _WRAPPERS])
        return None if node is None else node.config

    # ---- edit-data ----------------------------------------------------------------------

    def edit_data(self, session: Session, op: etree._Element) -> Reply:
        _only(op, EDIT_DATA_PARAMS)
        name = _datastore(op, WRITABLE, writing=True)
        default_op = _param_text(op, "default-operation") or "merge"
        if default_op not in ("merge", "replace", "none"):
            raise _invalid("default-operation", f"unknown default-operation '{default_op}'")
        self.base.apply_edit(
            session,
            name,
            _param(op, "config"),
            url_given=_param(op, "url") is not None,
            rpc="edit-data",
            default_operation=default_op,
        )
        return None


def state_origin(element: etree._Element) -> str:
    """The origin of a state subtree: what the agent observes of its graphs at run time is
    `learned`; what the node itself provides (probed capabilities and resources, shipped
    templates, the server's own state) is `system`."""
    top = element
    while top.getparent() is not None and top.getparent().tag != qn(NCDS, "data"):
        top = top.getparent()
    return "learned" if ns_of(top) == NFG else "system"


# ---- parameters ---------------------------------------------------------------------------


def _path(name: str, op: str = "get-data") -> tuple[str, dict[str, str]]:
    return f"/nc:rpc/ncds:{op}/ncds:{name}", {"nc": NC, "ncds": NCDS}


def _invalid(name: str, message: str, op: str = "get-data") -> RpcError:
    path, nsmap = _path(name, op)
    return RpcError(
        "invalid-value",
        message,
        ErrorType.PROTOCOL,
        path=path,
        path_nsmap=nsmap,
        info={"bad-element": name},
    )


def _only(op: etree._Element, allowed: set[str]) -> None:
    for el in op:
        if not isinstance(el.tag, str):
            continue
        name = local(el)
        if (ns_of(el) == NCDS and name in allowed) or (name == "with-defaults" and ns_of(el) == WD):
            continue
        raise RpcError(
            "unknown-element",
            f"<{name}> is not a parameter of <{local(op)}>",
            ErrorType.PROTOCOL,
            info={"bad-element": name},
        )


def _param(op: etree._Element, name: str) -> etree._Element | None:
    found = op.findall(qn(NCDS, name))
    if len(found) > 1:
        raise RpcError(
            "bad-element",
            f"<{name}> is given more than once",
            ErrorType.PROTOCOL,
            info={"bad-element": name},
        )
    return found[0] if found else None


def _param_text(op: etree._Element, name: str) -> str | None:
    el = _param(op, name)
    return None if el is None else (el.text or "").strip()


def _datastore(op: etree._Element, allowed: tuple[str, ...], *, writing: bool = False) -> str:
    what = local(op)
    el = _param(op, "datastore")
    if el is None:
        raise missing_element("datastore", what)
    namespace, name = identity(el)
    if namespace != DS or name not in READABLE:
        raise _invalid(
            "datastore",
            f"'{(el.text or '').strip()}' is not a datastore of this server "
            f"(ietf-datastores: {', '.join(allowed)})",
            what,
        )
    if name not in allowed:
        doing = "written with edit-data" if writing else "read"
        raise _invalid("datastore", f"the {name} datastore cannot be {doing}", what)
    return name


def _boolean(op: etree._Element, name: str) -> bool | None:
    text = _param_text(op, name)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise _invalid(name, f"{name} must be true or false, not '{text}'")
    return text == "true"


def _max_depth(op: etree._Element) -> int | None:
    text = _param_text(op, "max-depth")
    if text is None or text == "unbounded":
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise _invalid("max-depth", f"max-depth must be 1..65535 or 'unbounded', not '{text}'")
    return int(text)


def _with_defaults(op: etree._Element) -> str | None:
    found = [e for e in op if isinstance(e.tag, str) and local(e) == "with-defaults"]
    if not found:
        return None
    mode = (found[0].text or "").strip()
    if mode not in WD_MODES:
        raise _invalid("with-defaults", f"unknown with-defaults mode '{mode}'")
    return mode


def _origin_filter(op: etree._Element, operational: bool) -> bool | None:
    """None without origin filters, else whether configuration (origin `intended`) passes."""
    kinds = [
        (negated, el)
        for negated, tag in ((False, "origin-filter"), (True, "negated-origin-filter"))
        for el in op.findall(qn(NCDS, tag))
    ]
    if not kinds:
        return None
    if len({negated for negated, _ in kinds}) > 1:
        raise RpcError(
            "bad-element",
            "origin-filter and negated-origin-filter are two cases of one choice",
            ErrorType.PROTOCOL,
            info={"bad-element": "negated-origin-filter"},
        )
    tag = "negated-origin-filter" if kinds[0][0] else "origin-filter"
    if not operational:
        raise _invalid(tag, f"{tag} is only valid on ietf-datastores:operational")
    matched = False
    for _, el in kinds:
        namespace, name = identity(el)
        if namespace != ORIGIN or name not in ORIGINS:
            raise _invalid(tag, f"'{(el.text or '').strip()}' is not an ietf-origin identity")
        matched = matched or name in ("origin", CONFIG_ORIGIN)  # derived from, or equal to
    return not matched if kinds[0][0] else matched


def _filter(op: etree._Element) -> etree._Element | None:
    """The get-data filter as the RFC 6241 <filter> that the assembly path applies."""
    tree, xpath = _param(op, "subtree-filter"), _param(op, "xpath-filter")
    if tree is not None and xpath is not None:
        raise RpcError(
            "bad-element",
            "subtree-filter and xpath-filter are two cases of one choice",
            ErrorType.PROTOCOL,
            info={"bad-element": "xpath-filter"},
        )
    if tree is not None:
        filt = etree.Element(qn(NC, "filter"), type="subtree")
        for sel in tree:
            if isinstance(sel.tag, str):
                filt.append(sel)
        return filt
    if xpath is not None:
        select = (xpath.text or "").strip()
        if not select:
            raise _invalid("xpath-filter", "xpath-filter is empty")
        nsmap = {k: v for k, v in xpath.nsmap.items() if k}
        filt = etree.Element(qn(NC, "filter"), nsmap=nsmap or None, type="xpath")
        filt.set("select", select)
        return filt
    return None
