"""A datastore's content as an immutable value, kept as one XML fragment per graph.

Graphs are independent of each other in the YANG model (the one cross-graph rule, interface
ownership, is checked by the commit with an index), so a datastore is kept as
- `graphs`: graph name -> the canonical XML of that one list entry (as libyang prints it), and
- `tops`: every other top-level node (templates, node), small, as canonical XML.
An edit or a commit that touches a few graphs then parses, validates, diffs and prints only
those, and the full XML is a join of strings. The libyang tree of the whole content is built
only when a reader needs it (with-defaults, a full validation) and cached with the snapshot.

`touched` says which graphs may differ from running: graph names, or None when unknown (after
a copy-config or an edit that replaced the whole list). A commit with a known `touched` set
and unchanged tops works on those graphs only.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection
from xml.sax.saxutils import unescape

import libyang
from _libyang import ffi, lib

from .schema import Schema

SG = "urn:nnfv:yang:nnfv-service-graph"
GRAPHS = "graphs"
_OPEN = f'<graphs xmlns="{SG}">'
_CLOSE = "</graphs>"


class Snapshot:
    """One datastore's content, never changed once made. Owns its trees (freed with it).

    A tree is freed by a `weakref.finalize`, not by `__del__`: when a snapshot dies in a
    reference cycle together with its schema, the cycle collector calls finalizers in no
    fixed order, and cffi's finalizer of the context (ly_ctx_destroy) could run before the
    tree is freed, which then reads freed schema nodes. The finalizer holds the schema, so
    the context stays reachable until the tree is gone.
    """

    def __init__(
        self,
        schema: Schema,
        graphs: dict[str, str] | None = None,
        tops: dict[str, str] | None = None,
        *,
        valid: bool = True,
        touched: frozenset[str] | None = frozenset(),
        tree: libyang.DNode | None = None,
    ) -> None:
        self.schema = schema
        self.graphs: dict[str, str] = graphs or {}
        self.tops: dict[str, str] = tops or {}
        self.valid = valid  # validated as a whole (running, startup), or only parsed
        self.touched = touched
        self._tree = self._own(tree)
        self._tops_tree: libyang.DNode | None = None
        self._xml: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_tree(
        cls,
        schema: Schema,
        tree: libyang.DNode | None,
        *,
        valid: bool = True,
        touched: frozenset[str] | None = None,
    ) -> Snapshot:
        """Split a whole tree into fragments; the snapshot owns `tree` from now on."""
        graphs, tops = split(tree)
        return cls(schema, graphs, tops, valid=valid, touched=touched, tree=tree)

    def replaced(
        self, graphs: dict[str, str | None], tops: dict[str, str], **kwargs: object
    ) -> Snapshot:
        """This content with some graphs replaced (None: removed) and new tops."""
        merged = dict(self.graphs)
        for name, xml in graphs.items():
            if xml is None:
                merged.pop(name, None)
            else:
                merged[name] = xml
        return Snapshot(self.schema, merged, tops, **kwargs)  # type: ignore[arg-type]

    def same_content(self, other: Snapshot) -> bool:
        """Whether both join to the same XML, without joining them: fragments shared between
        snapshots are the same string objects, so this costs a pointer compare per graph."""
        return (
            self.tops == other.tops
            and self.graphs == other.graphs
            and list(self.tops) == list(other.tops)
            and list(self.graphs) == list(other.graphs)
        )

    def with_touched(self, touched: frozenset[str] | None) -> Snapshot:
        return Snapshot(self.schema, self.graphs, self.tops, valid=self.valid, touched=touched)

    def _own(self, tree: libyang.DNode | None) -> libyang.DNode | None:
        if tree is not None:
            weakref.finalize(self, _free_tree, self.schema, tree)
        return tree

    # ---- views --------------------------------------------------------------------------

    @property
    def xml(self) -> str:
        if self._xml is None:
            self._xml = join(self.graphs, self.tops)
        return self._xml

    @property
    def tree(self) -> libyang.DNode | None:
        """The whole content as one libyang tree (built on first use)."""
        if self._tree is None and (self.graphs or self.tops):
            with self._lock:
                if self._tree is None:
                    self._tree = self._own(self.schema.parse(self.xml, validate=self.valid))
        return self._tree

    @property
    def tops_tree(self) -> libyang.DNode | None:
        """Only the small top-level nodes (templates, node), for look-ups that need no graph."""
        if self._tops_tree is None and self.tops:
            with self._lock:
                if self._tops_tree is None:
                    tops = "".join(self.tops.values())
                    self._tops_tree = self._own(self.schema.parse(tops, validate=False))
        return self._tops_tree

    def partial_xml(self, names: Collection[str]) -> str:
        """Tops and the named graphs only (and the /graphs container whenever it exists, so
        that an edit finds /graphs where the whole content has it)."""
        picked = {n: self.graphs[n] for n in names if n in self.graphs}
        if self.graphs and not picked:
            return _OPEN + _CLOSE + "".join(self.tops.values())
        return join(picked, self.tops)

    def print(self, with_defaults: str | None) -> str:
        flags = WITH_DEFAULTS[with_defaults]
        if flags == 0 or (self.tree is None and with_defaults in ("trim", "explicit")):
            return self.xml
        tree = self.tree
        if tree is None:
            return _print_implicit(self.schema)
        with self.schema.lock:
            # Defaults are added to a copy: readers of this snapshot share its tree.
            copy = tree.first_sibling().duplicate(with_siblings=True, recursive=True)
            ptr = ffi.new("struct lyd_node **", copy.cdata)
            lib.lyd_new_implicit_all(
                ptr, self.schema.ctx.cdata, lib.LYD_IMPLICIT_NO_STATE, ffi.NULL
            )
            copy = libyang.DNode.new(self.schema.ctx, ptr[0])
            try:
                return print_tree(copy, flags)
            finally:
                copy.free()


def _free_tree(schema: Schema, tree: libyang.DNode) -> None:
    with schema.lock:
        tree.free()


WITH_DEFAULTS = {
    None: 0,
    "explicit": 0,
    "report-all": lib.LYD_PRINT_WD_ALL,
    "trim": lib.LYD_PRINT_WD_TRIM,
    "report-all-tagged": lib.LYD_PRINT_WD_ALL_TAG,
}


def join(graphs: dict[str, str], tops: dict[str, str]) -> str:
    body = _OPEN + "".join(graphs.values()) + _CLOSE if graphs else ""
    return body + "".join(tops.values())


def split(tree: libyang.DNode | None) -> tuple[dict[str, str], dict[str, str]]:
    """Fragments of a whole tree: {graph name: xml}, {top-level node name: xml}."""
    graphs: dict[str, str] = {}
    tops: dict[str, str] = {}
    if tree is None:
        return graphs, tops
    for top in tree.first_sibling().siblings():
        xml = print_tree(top, single=True)
        if not xml:  # implicit (default-only) containers print as nothing
            continue
        if top.name() == GRAPHS and top.module().name() == "nnfv-service-graph":
            graphs.update(_graph_fragments(xml))
        else:
            tops[top.name()] = xml
    return graphs, tops


def _graph_fragments(xml: str) -> dict[str, str]:
    """Cut libyang's canonical print of /graphs into its entries.

    One print and string cuts instead of a print per entry: no node inside a graph is named
    `graph`, text is escaped, and libyang prints the key first and no attributes on entries.
    """
    assert xml.startswith(_OPEN) and xml.endswith(_CLOSE), xml[:80]
    body = xml[len(_OPEN) : -len(_CLOSE)]
    out = {}
    for part in body.split("</graph>"):
        if not part:
            continue
        entry = part + "</graph>"
        start = entry.index("<name>") + len("<name>")
        out[unescape(entry[start : entry.index("</name>", start)])] = entry
    return out


def print_tree(tree: libyang.DNode | None, flags: int = 0, *, single: bool = False) -> str:
    if tree is None:
        return ""
    buf = ffi.new("char **")
    node = tree if single else tree.first_sibling()
    options = flags | lib.LYD_PRINT_SHRINK | (0 if single else lib.LYD_PRINT_WITHSIBLINGS)
    lib.lyd_print_mem(buf, node.cdata, lib.LYD_XML, options)
    if buf[0] == ffi.NULL:
        return ""
    try:
        return ffi.string(buf[0]).decode()
    finally:
        lib.free(buf[0])


def _print_implicit(schema: Schema) -> str:
    """The default-only content of an empty datastore (for report-all)."""
    ptr = ffi.new("struct lyd_node **", ffi.NULL)
    lib.lyd_new_implicit_all(ptr, schema.ctx.cdata, lib.LYD_IMPLICIT_NO_STATE, ffi.NULL)
    if ptr[0] == ffi.NULL:
        return ""
    tree = libyang.DNode.new(schema.ctx, ptr[0])
    try:
        return print_tree(tree, lib.LYD_PRINT_WD_ALL_TAG)
    finally:
        tree.free()
