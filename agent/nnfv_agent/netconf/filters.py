"""Subtree filters (RFC 6241 section 6) for get, get-config, get-data and subscriptions.

A subtree filter runs in the agent under a `Budget` (time, and the session still being
alive); XPath filters are in xpath_filter.py.
"""

from __future__ import annotations

import copy

from lxml import etree

from .budget import Budget
from .interfaces import KeysOf


def subtree(
    data: list[etree._Element],
    filt: etree._Element,
    keys_of: KeysOf,
    budget: Budget | None = None,
    *,
    mark: str | None = None,
) -> list[etree._Element]:
    """The parts of `data` the subtree filter selects; with `mark`, each node the filter
    selects (as opposed to its ancestors and keys) carries that attribute."""
    budget = budget or Budget()
    selectors = [f for f in filt if isinstance(f.tag, str)]
    if not selectors:
        return []  # an empty filter selects nothing (RFC 6241 6.4.2)
    out = []
    for node in data:
        for sel in selectors:
            budget.tick()
            if _matches(sel, node):
                result = _apply(sel, node, keys_of, budget, mark)
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


def _content_matches(matches: list[etree._Element], node: etree._Element, budget: Budget) -> bool:
    """Every content-match node of the filter has an equal child in `node`."""
    for m in matches:
        budget.tick()
        if not any(_matches(m, dc) and (dc.text or "").strip() == m.text.strip() for dc in node):
            return False
    return True


def _apply(
    sel: etree._Element,
    node: etree._Element,
    keys_of: KeysOf,
    budget: Budget,
    mark: str | None = None,
) -> etree._Element | None:
    children = [c for c in sel if isinstance(c.tag, str)]
    if not children:
        if _is_content_match(sel) and (node.text or "").strip() != sel.text.strip():
            return None
        return selected(node, mark)
    matches = [c for c in children if _is_content_match(c)]
    others = [c for c in children if not _is_content_match(c)]
    if not _content_matches(matches, node, budget):
        return None
    if not others:
        return selected(node, mark)
    out = etree.Element(node.tag, nsmap=node.nsmap)
    keys = keys_of(node)
    found = False
    for dc in node:
        sub = None
        for o in others:
            budget.tick()
            if _matches(o, dc):
                sub = _apply(o, dc, keys_of, budget, mark)
                if sub is not None:
                    break
        if sub is not None:
            out.append(sub)
            found = True
        elif etree.QName(dc).localname in keys or any(_matches(m, dc) for m in matches):
            out.append(copy.deepcopy(dc))
    return out if found else None  # a containment node that selected nothing below it


def selected(node: etree._Element, mark: str | None) -> etree._Element:
    """A selected node with its whole subtree, marked for max-depth when asked."""
    out = copy.deepcopy(node)
    if mark:
        out.set(mark, "")
    return out
