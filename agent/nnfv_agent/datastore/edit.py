"""Apply an edit-config <config> to a datastore tree (RFC 6241 section 7.2).

The engine works on XML trees and a schema index; it decides *where* each operation lands and
raises data-exists / data-missing / unknown-element. libyang then parses and validates the result,
so every value and constraint check stays in libyang.
"""

from __future__ import annotations

import copy
import re
import threading

from lxml import etree

from ..errors import AgentError, Kind, Scope
from ..xmlutil import NC, qn
from .schema import Schema, SchemaNode

OPERATION = qn(NC, "operation")
_VALUE_PREFIX = re.compile(r"([A-Za-z_][\w.-]*):")
EDIT_OPERATIONS = ("merge", "replace", "create", "delete", "remove")
DEFAULT_OPERATIONS = ("merge", "replace", "none")
_CREATING = ("merge", "replace", "create")
_DROPPED_ATTRIBUTES = ("{" + NC + "}", "{http://www.w3.org/XML/1998/namespace}lang")


def canonical(value: str | None, snode: SchemaNode) -> str:
    text = (value or "").strip()
    if snode.base_type and snode.base_type.startswith(("int", "uint")):
        try:
            return str(int(text, 0 if text.lower().startswith("0x") else 10))
        except ValueError:
            return text
    if snode.base_type == "boolean":
        return text.lower()
    return text


class EditEngine:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.known_namespaces = set(schema.namespaces.values())
        self._local = threading.local()

    def apply(self, target: etree._Element, config: etree._Element, default_op: str) -> None:
        """Mutate `target` (a <data> element holding top-level nodes) in place."""
        # Per call (the engine is shared by sessions): list entries and leaf-list values of
        # each parent by key, so that an edit of N entries costs N look-ups, not N scans.
        self._local.index = {}
        try:
            for edit in config:
                if not isinstance(edit.tag, str):
                    continue
                self._walk(edit, target, self.schema.root, default_op, "")
        finally:
            self._local.index = {}

    # ---- the walk -----------------------------------------------------------------------

    def _walk(
        self,
        edit: etree._Element,
        tparent: etree._Element,
        sparent: SchemaNode,
        inherited: str,
        path: str,
    ) -> None:
        qname = etree.QName(edit)
        snode = sparent.child(qname.namespace, qname.localname)
        if snode is None:
            raise self._unknown(edit, qname, path)
        step = self._step(edit, snode, path)
        here = path + step
        if not snode.config:
            raise AgentError(
                f"'{snode.name}' is state data and cannot be configured",
                kind=Kind.INVALID_VALUE,
                **self._path(here),
            )
        op = self._operation(edit, inherited, here)
        match = self._find(tparent, edit, snode)

        if op in ("create", "merge", "replace") and match is None and snode.cases:
            self._clear_other_cases(tparent, sparent, snode)
        if op == "merge":
            self._merge(edit, tparent, snode, match, here)
        elif op == "none":
            self._descend(edit, tparent, snode, match, here)
        else:
            self._replace_or_remove(op, edit, tparent, snode, match, here)

    def _replace_or_remove(
        self,
        op: str,
        edit: etree._Element,
        tparent: etree._Element,
        snode: SchemaNode,
        match: etree._Element | None,
        here: str,
    ) -> None:
        """create, delete, remove and replace: the node as a whole."""
        if op == "create":
            if match is not None:
                raise AgentError(
                    f"'{snode.name}' already exists; create refuses to overwrite it",
                    kind=Kind.DATA_EXISTS,
                    **self._path(here),
                )
            new = self._clean_copy(edit)
            tparent.append(new)
            self._added(tparent, new, snode)
        elif op == "delete":
            if match is None:
                raise AgentError(
                    f"'{snode.name}' does not exist, so it cannot be deleted",
                    kind=Kind.DATA_MISSING,
                    **self._path(here),
                )
            tparent.remove(match)
            self._removed(tparent, match)
        elif op == "remove":
            if match is not None:
                tparent.remove(match)
                self._removed(tparent, match)
        else:  # replace
            self._added(tparent, self._put(edit, tparent, match), snode)

    def _descend(
        self,
        edit: etree._Element,
        tparent: etree._Element,
        snode: SchemaNode,
        match: etree._Element | None,
        here: str,
    ) -> None:
        """Operation "none": no change here, but the children may carry their own."""
        if snode.kind in ("leaf", "leaf-list", "anydata", "anyxml"):
            return
        if match is None:
            if not self._has_op(edit, EDIT_OPERATIONS):
                # RFC 6241 7.2: data for a level the target does not have, and no
                # operation that says what to do with it.
                raise AgentError(
                    f"'{snode.name}' does not exist, and default-operation 'none' "
                    "does not create it (give it an operation such as merge or create)",
                    kind=Kind.DATA_MISSING,
                    **self._path(here),
                )
            if not self._has_op(edit, _CREATING):
                self._children(edit, etree.Element("scratch"), snode, "none", here)
                return
        self._children(edit, self._existing(edit, tparent, snode, match), snode, "none", here)

    def _merge(
        self,
        edit: etree._Element,
        tparent: etree._Element,
        snode: SchemaNode,
        match: etree._Element | None,
        here: str,
    ) -> None:
        if snode.kind in ("leaf", "anydata", "anyxml"):
            self._put(edit, tparent, match)
            return
        if snode.kind == "leaf-list":
            if match is None:
                new = self._clean_copy(edit)
                tparent.append(new)
                self._added(tparent, new, snode)
            return
        self._children(edit, self._existing(edit, tparent, snode, match), snode, "merge", here)

    def _put(
        self, edit: etree._Element, tparent: etree._Element, match: etree._Element | None
    ) -> etree._Element:
        """A copy of `edit` in the place of `match` (or last, if there is none)."""
        new = self._clean_copy(edit)
        if match is not None:
            match.addprevious(new)
            tparent.remove(match)
        else:
            tparent.append(new)
        return new

    def _existing(
        self,
        edit: etree._Element,
        tparent: etree._Element,
        snode: SchemaNode,
        match: etree._Element | None,
    ) -> etree._Element:
        """The target node an edit descends into: `match`, or a new empty one."""
        if match is None:
            match = self._shell(edit, snode)
            tparent.append(match)
            self._added(tparent, match, snode)
        return match

    def _children(
        self, edit: etree._Element, target: etree._Element, snode: SchemaNode, op: str, here: str
    ) -> None:
        for sub in edit:
            if isinstance(sub.tag, str):
                self._walk(sub, target, snode, op, here)

    # ---- helpers --------------------------------------------------------------------------

    def _clear_other_cases(
        self, tparent: etree._Element, sparent: SchemaNode, snode: SchemaNode
    ) -> None:
        """RFC 7950 7.9: creating a node of one case removes the nodes of the other cases."""
        for sibling in list(tparent):
            q = etree.QName(sibling)
            other = sparent.child(q.namespace, q.localname)
            if other is not None and other.excludes(snode):
                tparent.remove(sibling)
                self._removed(tparent, sibling)

    def _operation(self, edit: etree._Element, inherited: str, here: str) -> str:
        own = edit.get(OPERATION)
        if own is None:
            return inherited
        if own not in EDIT_OPERATIONS:
            raise AgentError(
                f"unknown operation '{own}'",
                kind=Kind.BAD_ATTRIBUTE,
                scope=Scope.REQUEST,
                info={"bad-attribute": "operation", "bad-element": etree.QName(edit).localname},
                **self._path(here),
            )
        if inherited in ("create", "delete", "remove", "replace"):
            # Inside a subtree that is created, replaced or removed whole, a nested operation
            # cannot be honoured without contradicting its parent.
            if own != inherited:
                raise AgentError(
                    f"operation '{own}' conflicts with the enclosing '{inherited}'",
                    kind=Kind.OPERATION_FAILED,
                    scope=Scope.REQUEST,
                    **self._path(here),
                )
        return own

    def _find(
        self, tparent: etree._Element, edit: etree._Element, snode: SchemaNode
    ) -> etree._Element | None:
        if snode.kind in ("list", "leaf-list"):
            return self._entries(tparent, edit.tag, snode).get(self._identity(edit, snode))
        return next(tparent.iterchildren(edit.tag), None)

    def _identity(self, el: etree._Element, snode: SchemaNode, required: bool = True) -> tuple:
        if snode.kind == "list":
            return self._keys(el, snode, required)
        return (canonical(el.text, snode),)

    def _entries(
        self, tparent: etree._Element, tag: str, snode: SchemaNode
    ) -> dict[tuple, etree._Element]:
        index = self._local.index
        entries = index.get((tparent, tag))
        if entries is None:
            entries = {}
            for cand in tparent.iterchildren(tag):
                entries.setdefault(self._identity(cand, snode, required=False), cand)
            index[(tparent, tag)] = entries
        return entries

    def _added(self, tparent: etree._Element, el: etree._Element, snode: SchemaNode) -> None:
        entries = self._local.index.get((tparent, el.tag))
        if entries is not None and snode.kind in ("list", "leaf-list"):
            entries[self._identity(el, snode, required=False)] = el

    def _removed(self, tparent: etree._Element, el: etree._Element) -> None:
        # Dropping the parent's index is simpler than keeping it, and removal is rare in bulk.
        self._local.index.pop((tparent, el.tag), None)

    def _keys(self, el: etree._Element, snode: SchemaNode, required: bool = True) -> tuple:
        values = []
        for key in snode.keys:
            key_el = el.find(qn(snode.namespace, key))
            if key_el is None:
                if required:
                    raise AgentError(
                        f"list '{snode.name}' entry is missing its key '{key}'",
                        kind=Kind.MISSING_ELEMENT,
                        scope=Scope.REQUEST,
                        info={"bad-element": key},
                    )
                return ()
            values.append(canonical(key_el.text, snode.children[(snode.namespace, key)]))
        return tuple(values)

    def _shell(self, edit: etree._Element, snode: SchemaNode) -> etree._Element:
        shell = etree.Element(edit.tag, nsmap={None: snode.namespace})
        for key in snode.keys:
            key_el = edit.find(qn(snode.namespace, key))
            etree.SubElement(shell, key_el.tag).text = key_el.text
        return shell

    @staticmethod
    def _has_op(edit: etree._Element, ops: tuple[str, ...]) -> bool:
        return any(el.get(OPERATION) in ops for el in edit.iter() if isinstance(el.tag, str))

    @staticmethod
    def _clean_copy(edit: etree._Element) -> etree._Element:
        new = copy.deepcopy(edit)
        for el in new.iter():
            if isinstance(el.tag, str):
                # NETCONF's own attributes, and xml:lang, which XML allows on any element and
                # YANG gives no meaning (it is accepted, not stored).
                for attr in [a for a in el.attrib if a.startswith(_DROPPED_ATTRIBUTES)]:
                    del el.attrib[attr]
        # Prefixes used inside values (instance-identifiers and XPath, as in NACM rule paths)
        # must keep their declarations.
        used = {
            m
            for el in new.iter()
            if isinstance(el.tag, str) and el.text and ":" in el.text
            for m in _VALUE_PREFIX.findall(el.text)
        }
        etree.cleanup_namespaces(new, keep_ns_prefixes=sorted(used) or None)
        return new

    def _step(self, edit: etree._Element, snode: SchemaNode, path: str) -> str:
        step = f"/{snode.prefix}:{snode.name}"
        if snode.kind == "list":
            keys = self._keys(edit, snode) if path is not None else ()
            for key, value in zip(snode.keys, keys, strict=False):
                step += f"[{snode.prefix}:{key}={_quote(value)}]"
        elif snode.kind == "leaf-list":
            step += f"[.={_quote(canonical(edit.text, snode))}]"
        return step

    def _path(self, xpath: str) -> dict:
        nsmap = {}
        for mod, prefix in self.schema.prefixes.items():
            if f"/{prefix}:" in xpath or f"[{prefix}:" in xpath:
                nsmap[prefix] = self.schema.namespaces[mod]
        return {"path": xpath or "/", "path_nsmap": nsmap}

    def _unknown(self, edit: etree._Element, qname: etree.QName, path: str) -> AgentError:
        if qname.namespace not in self.known_namespaces:
            return AgentError(
                f"namespace '{qname.namespace}' of element "
                f"'{qname.localname}' is not served by this agent",
                kind=Kind.UNKNOWN_NAMESPACE,
                info={"bad-element": qname.localname, "bad-namespace": qname.namespace or ""},
                **self._path(path),
            )
        return AgentError(
            f"element '{qname.localname}' is not defined in the schema at this place",
            kind=Kind.UNKNOWN_ELEMENT,
            info={"bad-element": qname.localname},
            **self._path(path),
        )


def _quote(value: str) -> str:
    return f"'{value}'" if "'" not in value else f'"{value}"'


_SG = "urn:nnfv:yang:nnfv-service-graph"


def edited_graphs(config: etree._Element, default_operation: str) -> set[str] | None:
    """The names of the graphs an edit can change, or None when it may change any of them.

    Graph entries named by key under a merged /graphs touch only themselves; anything else
    (replace as default operation, an operation on /graphs itself, an entry without its
    key, an unknown element) is handled on the whole content, which also reports the errors.
    """
    if default_operation == "replace":
        return None
    names: set[str] = set()
    for top in config:
        if not isinstance(top.tag, str) or top.tag != qn(_SG, "graphs"):
            continue
        if top.get(OPERATION) not in (None, "merge", "none"):
            return None
        for entry in top:
            if not isinstance(entry.tag, str):
                continue
            key = entry.find(qn(_SG, "name"))
            if entry.tag != qn(_SG, "graph") or key is None or not (key.text or "").strip():
                return None
            names.add(key.text.strip())
    return names
