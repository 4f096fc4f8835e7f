"""Pure tree work for NMDA get-data (RFC 8526): config-filter, max-depth and origin.

Each function takes reply elements (the children of <data>) and callables that answer schema
questions, so that the logic is tested without an agent.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from .interfaces import KeysOf

ORIGIN = "urn:ietf:params:xml:ns:yang:ietf-origin"
# Set by the filters on the nodes they select, read by max-depth, removed before replying.
SELECTED = "{urn:nnfv:internal}selected"

# Whether an element is a configuration node (True), state (False) or unknown (None).
IsConfig = Callable[[etree._Element], bool | None]
# The origin identity (without prefix) of the root of a state subtree.
StateOrigin = Callable[[etree._Element], str]


def keep_config(
    data: list[etree._Element], want: bool, is_config: IsConfig, keys_of: KeysOf
) -> list[etree._Element]:
    """RFC 8526 config-filter: keep only config (`want`) or only state nodes, with ancestors.

    A node of the other kind is kept when something below it is kept (an ancestor of a
    selected node) and then so are its list keys. Unknown nodes follow their parent (a
    top-level unknown node counts as state).
    """
    return [top for top in data if _keep(top, want, is_config, keys_of, parent_config=False)]


def _keep(
    el: etree._Element, want: bool, is_config: IsConfig, keys_of: KeysOf, parent_config: bool
) -> bool:
    config = is_config(el)
    if config is None:
        config = parent_config
    if not config and not want:
        return True  # a state node: everything below it is state too
    decisions = [
        (sub, _keep(sub, want, is_config, keys_of, config))
        for sub in el
        if isinstance(sub.tag, str)
    ]
    kept = config == want or any(keep for _, keep in decisions)
    if kept:
        keys = keys_of(el)
        for sub, keep in decisions:
            if not keep and etree.QName(sub).localname not in keys:
                el.remove(sub)
    return kept


def limit_depth(data: list[etree._Element], depth: int, keys_of: KeysOf, *, marked: bool) -> None:
    """RFC 8526 max-depth: below each selected node keep `depth` - 1 levels of descendants.

    With `marked`, the selected nodes are those a filter marked with SELECTED; without, the
    top-level nodes. List keys are always kept, so that every list entry stays addressable.
    """
    roots = [el for top in data for el in top.iter() if el.get(SELECTED) is not None]
    if not marked:
        roots = list(data)
    for root in roots:
        _cut(root, depth - 1, keys_of)


def _cut(el: etree._Element, levels: int, keys_of: KeysOf) -> None:
    keys = keys_of(el)
    for sub in list(el):
        if not isinstance(sub.tag, str):
            continue
        if levels <= 0:
            if etree.QName(sub).localname not in keys:
                el.remove(sub)
            continue
        _cut(sub, levels - 1, keys_of)


def unmark(data: list[etree._Element]) -> None:
    """Remove the filters' SELECTED marks and the namespace declarations they needed."""
    for top in data:
        for el in top.iter():
            if isinstance(el.tag, str) and el.get(SELECTED) is not None:
                del el.attrib[SELECTED]
        etree.cleanup_namespaces(top)


def annotate_origin(
    data: list[etree._Element], is_config: IsConfig, state_origin: StateOrigin
) -> None:
    """Set the ietf-origin annotation on each top-level configuration node (`intended`: it
    comes from running) and on the root of each state subtree (`state_origin`).

    Descendants inherit their parent's origin (ietf-origin), so only those roots carry it.
    """
    for top in data:
        _origin(top, is_config, state_origin, parent=None)


def _origin(
    el: etree._Element, is_config: IsConfig, state_origin: StateOrigin, parent: bool | None
) -> None:
    config = is_config(el)
    if config is None:
        return
    if config and parent is None:
        el.set(f"{{{ORIGIN}}}origin", "or:intended")
    elif not config:
        el.set(f"{{{ORIGIN}}}origin", f"or:{state_origin(el)}")
        return
    for sub in el:
        if isinstance(sub.tag, str):
            _origin(sub, is_config, state_origin, parent=config)
