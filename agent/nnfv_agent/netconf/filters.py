"""<filter> handling for get and get-config: subtree (RFC 6241 section 6) and XPath (:xpath)."""

from __future__ import annotations

import copy
from collections.abc import Callable

from lxml import etree

from .errors import ErrorType, RpcError

KeysOf = Callable[[etree._Element], tuple[str, ...]]


def subtree(
    data: list[etree._Element], filt: etree._Element, keys_of: KeysOf
) -> list[etree._Element]:
    selectors = [f for f in filt if isinstance(f.tag, str)]
    if not selectors:
        return []  # an empty filter selects nothing (RFC 6241 6.4.2)
    out = []
    for node in data:
        for sel in selectors:
            if _matches(sel, node):
                result = _apply(sel, node, keys_of)
                if result is not None:
                    out.append(result)
                    break
    return out


def _matches(sel: etree._Element, node: etree._Element) -> bool:
    s, n = etree.QName(sel), etree.QName(node)
    if s.localname != n.localname:
        return False
    return not s.namespace or s.namespace == n.namespace


def _is_content_match(sel: etree._Element) -> bool:
    return len(sel) == 0 and bool((sel.text or "").strip())


def _apply(sel: etree._Element, node: etree._Element, keys_of: KeysOf) -> etree._Element | None:
    children = [c for c in sel if isinstance(c.tag, str)]
    if not children:
        if _is_content_match(sel):
            return copy.deepcopy(node) if (node.text or "").strip() == sel.text.strip() else None
        return copy.deepcopy(node)
    matches = [c for c in children if _is_content_match(c)]
    others = [c for c in children if not _is_content_match(c)]
    for m in matches:
        if not any(_matches(m, dc) and (dc.text or "").strip() == m.text.strip() for dc in node):
            return None
    if not others:
        return copy.deepcopy(node)
    out = etree.Element(node.tag, nsmap=node.nsmap)
    keys = keys_of(node)
    selected = False
    for dc in node:
        sub = None
        for o in others:
            if _matches(o, dc):
                sub = _apply(o, dc, keys_of)
                if sub is not None:
                    break
        if sub is not None:
            out.append(sub)
            selected = True
        elif etree.QName(dc).localname in keys or any(_matches(m, dc) for m in matches):
            out.append(copy.deepcopy(dc))
    return out if selected else None  # a containment node that selected nothing below it


def xpath(
    data: list[etree._Element], select: str, nsmap: dict[str | None, str], keys_of: KeysOf
) -> list[etree._Element]:
    namespaces = {k: v for k, v in nsmap.items() if k}
    hits: list[etree._Element] = []
    for top in data:
        doc = etree.ElementTree(copy.deepcopy(top))
        try:
            found = doc.xpath(select, namespaces=namespaces)
        except etree.XPathError as exc:
            raise RpcError(
                "invalid-value",
                f"invalid XPath filter '{select}': {exc}",
                ErrorType.PROTOCOL,
                info={"bad-attribute": "select", "bad-element": "filter"},
            ) from None
        if not isinstance(found, list):
            raise RpcError(
                "invalid-value",
                "the XPath filter must select a node-set",
                ErrorType.PROTOCOL,
                info={"bad-attribute": "select", "bad-element": "filter"},
            )
        for item in found:
            if isinstance(item, etree._Element):
                hits.append(item)
            elif hasattr(item, "getparent") and item.getparent() is not None:
                hits.append(item.getparent())
    return _with_ancestors(hits, keys_of)


def _with_ancestors(hits: list[etree._Element], keys_of: KeysOf) -> list[etree._Element]:
    # lxml proxies are short-lived and id() values get reused, so nodes are keyed by their
    # document and their path in it.
    roots: list[etree._Element] = []
    made: dict[tuple[int, str], etree._Element] = {}
    full: set[tuple[int, str]] = set()
    docs = [hit.getroottree() for hit in hits]  # keeps every document alive while we work

    def key(el: etree._Element) -> tuple[int, str]:
        tree = el.getroottree()
        return id(tree.getroot()), tree.getpath(el)

    for hit in hits:
        chain = [*reversed(list(hit.iterancestors())), hit]
        if any(key(a) in full for a in chain[:-1]):
            continue
        parent_out = None
        for anc in chain[:-1]:
            if key(anc) not in made:
                shell = etree.Element(anc.tag, nsmap=anc.nsmap)
                keys = keys_of(anc)
                for dc in anc:
                    if etree.QName(dc).localname in keys:
                        key_copy = copy.deepcopy(dc)
                        shell.append(key_copy)
                        made[key(dc)] = key_copy
                _attach(shell, parent_out, roots)
                made[key(anc)] = shell
            parent_out = made[key(anc)]
        new = copy.deepcopy(hit)
        old = made.get(key(hit))
        if old is not None:
            parent = old.getparent()
            if parent is not None:
                parent.replace(old, new)
            else:
                roots[roots.index(old)] = new
        else:
            _attach(new, parent_out, roots)
        made[key(hit)] = new
        full.add(key(hit))
    del docs
    return roots


def _attach(el: etree._Element, parent: etree._Element | None, roots: list[etree._Element]) -> None:
    if parent is None:
        roots.append(el)
    else:
        parent.append(el)
