"""Typed changes between two config trees, computed by libyang's diff."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import libyang


class ChangeKind(StrEnum):
    CREATED = "create"
    DELETED = "delete"
    MODIFIED = "replace"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: str  # libyang data path of the node
    schema_path: str  # schema path without predicates, the handler registry key
    value: str | None = None
    old_value: str | None = None


def diff(old: libyang.DNode | None, new: libyang.DNode | None) -> list[Change]:
    """Changes that turn `old` into `new`, parents before children."""
    if old is None and new is None:
        return []
    if old is None or new is None:
        tree = new if old is None else old
        kind = ChangeKind.CREATED if old is None else ChangeKind.DELETED
        # Implicit default containers are not configuration anybody created.
        return [_change(kind, node) for node in _tops(tree) if not node.flags()["default"]]
    diff_tree = old.first_sibling().diff(new.first_sibling())
    if diff_tree is None:
        return []
    try:
        changes: list[Change] = []
        for top in _tops(diff_tree):
            _collect(top, changes)
        return changes
    finally:
        diff_tree.free()


def _tops(tree: libyang.DNode) -> list[libyang.DNode]:
    return list(tree.first_sibling().siblings())


def _collect(node: libyang.DNode, out: list[Change]) -> None:
    op = node.get_meta("operation")
    if op in ("create", "delete"):
        out.append(_change(ChangeKind(op), node))
        return  # the subtree comes with its parent
    if op == "replace":
        old = node.get_meta("orig-value")
        out.append(_change(ChangeKind.MODIFIED, node, old))
        return
    if isinstance(node, libyang.DContainer):
        for child in node.children():
            _collect(child, out)


def _change(kind: ChangeKind, node: libyang.DNode, old: str | None = None) -> Change:
    value = None
    if isinstance(node, libyang.DLeaf):
        value = str(node.value())
    return Change(kind, node.path(), node.schema().schema_path(), value, old)


# One list step of a libyang data path: name[key='value'] (or "value" when it holds a quote).
_KEYED_STEP = re.compile(r"([A-Za-z_][\w.-]*)\[[A-Za-z_][\w.-]*=(?:'([^']*)'|\"([^\"]*)\")\]")


def list_keys(path: str) -> dict[str, str]:
    """The key value of every single-key list entry on a data path: {list name: key}."""
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _KEYED_STEP.finditer(path)
    }
