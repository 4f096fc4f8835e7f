"""The YANG schema: one libyang context and a schema index for XML edits.

libyang is the validator. This module wraps it so that every libyang failure is collected
(with the list keys libyang leaves out of a missing node's path) and handed to `yang_errors`,
which gives it the right kind and an XPath error-path.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libyang
from _libyang import ffi, lib

from ..errors import AgentError, AgentErrors, Kind
from .yang_errors import YangIssue, as_agent_error, data_location, qualify_path

log = logging.getLogger(__name__)

# Our own modules and the standard ones the server implements.
AGENT_MODULES = (
    "ietf-netconf",
    "ietf-netconf-with-defaults",
    "ietf-netconf-monitoring",
    "ietf-netconf-notifications",
    "ietf-netconf-acm",
    "nnfv-service-graph",
    "nnfv-nnf-template",
    "nnfv-node",
    "nnfv-agent",
    "notifications",
    "nc-notifications",
    # NMDA (RFC 8342, RFC 8526): get-data, edit-data and the origin annotation.
    "ietf-origin",
    "ietf-netconf-nmda",
)
# The features the server implements, per module (other modules: none). ietf-netconf's :url
# is not among them, so no parameter that needs it is accepted.
FEATURES = {
    "ietf-netconf": (
        "writable-running",
        "candidate",
        "confirmed-commit",
        "rollback-on-error",
        "validate",
        "startup",
        "xpath",
    ),
    "ietf-netconf-nmda": ("origin", "with-defaults"),
}

# Paths must be resolved by libyang for error-path; storing messages keeps them per context.
libyang.configure_logging(True, logging.CRITICAL + 10)
lib.ly_log_options(lib.LY_LOSTORE)
lib.ly_set_log_clb(lib.lypy_log_cb, True)


def default_yang_dir() -> Path:
    env = os.environ.get("NNFV_YANG_DIR")
    if env:
        return Path(env)
    packaged = Path(__file__).resolve().parent.parent / "yang"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "yang"


@dataclass
class SchemaNode:
    """What the XML edit engine needs to know about one data node."""

    name: str
    namespace: str
    module: str
    prefix: str
    kind: str  # container | list | leaf | leaf-list | anydata | anyxml
    keys: tuple[str, ...] = ()
    presence: bool = False
    config: bool = True
    default: str | None = None
    base_type: str | None = None
    # (choice, case) pairs from the innermost out: creating this node removes the other cases.
    cases: tuple[tuple[str, str], ...] = ()
    children: dict[tuple[str, str], SchemaNode] = field(default_factory=dict)

    def excludes(self, other: SchemaNode) -> bool:
        """True when the two nodes sit in different cases of one choice."""
        mine = dict(self.cases)
        return any(choice in mine and mine[choice] != case for choice, case in other.cases)

    def child(self, namespace: str | None, name: str) -> SchemaNode | None:
        return self.children.get((namespace or "", name))


class Schema:
    """Owns the libyang context. libyang contexts are not thread-safe, so every use takes `lock`."""

    def __init__(self, yang_dir: Path | None = None) -> None:
        self.yang_dir = Path(yang_dir or default_yang_dir())
        search = [str(self.yang_dir), str(self.yang_dir / "ietf")]
        self.ctx = libyang.Context(":".join(search))
        self.lock = threading.RLock()
        for name in AGENT_MODULES:
            mod = self.ctx.load_module(name)
            if name in FEATURES:
                _enable(mod, FEATURES[name])
        self.root = SchemaNode("", "", "", "", "root")
        self.prefixes: dict[str, str] = {}  # module name -> prefix
        self.namespaces: dict[str, str] = {}  # module name -> namespace
        for mod in self.ctx:
            self.prefixes[mod.name()] = mod.prefix()
            self.namespaces[mod.name()] = module_namespace(mod)
        for mod in self.ctx:
            if not mod.implemented():
                continue
            for snode in mod.children():
                if snode.keyword() in ("container", "list", "leaf", "leaf-list"):
                    self._index(snode, self.root)

    def _index(self, snode: libyang.SNode, parent: SchemaNode) -> None:
        mod = snode.module()
        kind = snode.keyword()
        node = SchemaNode(
            name=snode.name(),
            namespace=module_namespace(mod),
            module=mod.name(),
            prefix=mod.prefix(),
            kind=kind,
            config=not snode.config_false(),
            cases=_cases(snode),
        )
        if kind == "container":
            node.presence = snode.presence() is not None
        elif kind == "list":
            node.keys = tuple(k.name() for k in snode.keys())
        if kind in ("leaf", "leaf-list"):
            node.base_type = snode.type().basename()
            if kind == "leaf":
                dflt = snode.default()
                node.default = None if dflt is None else str(dflt)
        parent.children[(node.namespace, node.name)] = node
        if kind in ("container", "list"):
            for sub in snode.children():
                self._index(sub, node)

    def config_modules(self) -> set[str]:
        """The modules that define configuration (top-level config true nodes)."""
        return {node.module for node in self.root.children.values() if node.config}

    def module_imports(self) -> dict[str, set[str]]:
        """Each module's directly imported modules."""
        out: dict[str, set[str]] = {}
        with self.lock:
            for mod in self.ctx:
                imports = mod.cdata.parsed.imports if mod.cdata.parsed != ffi.NULL else ffi.NULL
                count = 0 if imports == ffi.NULL else ffi.cast("uint64_t *", imports)[-1]
                out[mod.name()] = {
                    ffi.string(imports[i].module.name).decode() for i in range(count)
                }
        return out

    def modules(self) -> list[tuple[str, str, str]]:
        """(name, revision, namespace) of every implemented or imported module."""
        with self.lock:
            return [(m.name(), module_revision(m), module_namespace(m)) for m in self.ctx]

    def module_text(self, name: str, revision: str | None, fmt: str) -> str | None:
        """A module's source in `fmt` ("yang" or "yin"); None when no such module is loaded."""
        with self.lock:
            for mod in self.ctx:
                if mod.name() == name and (not revision or module_revision(mod) == revision):
                    return str(mod.print_mem(fmt))
        return None

    def yang_library_xml(self) -> str:
        """libyang's RFC 8525 data of this context (yang-library and modules-state)."""
        with self.lock:
            tree = self.ctx.get_yanglib_data("%u")
            try:
                return str(tree.print_mem("xml", with_siblings=True, pretty=False))
            finally:
                tree.free()

    def node_for(self, element_path: list[tuple[str, str]]) -> SchemaNode | None:
        node: SchemaNode | None = self.root
        for key in element_path:
            node = node.children.get(key) if node else None
        return node

    # ---- libyang calls with structured errors -------------------------------------------

    def parse(
        self, xml: str, *, validate: bool, edit: bool = False, state: bool = False
    ) -> libyang.DNode | None:
        """Parse config XML (with `state`, also state data, never validated).

        `edit` keeps nc:operation metadata and skips semantic checks.
        """
        pflags = lib.LYD_PARSE_STRICT | (0 if state else lib.LYD_PARSE_NO_STATE)
        vflags = lib.LYD_VALIDATE_NO_STATE
        if not validate or edit or state:
            pflags |= lib.LYD_PARSE_ONLY
            vflags = 0
        with self.lock:
            inp = ffi.new("struct ly_in **")
            buf = ffi.new("char[]", xml.encode())
            if lib.ly_in_new_memory(buf, inp) != lib.LY_SUCCESS:
                raise AgentError("cannot read input", kind=Kind.OPERATION_FAILED)
            tree = ffi.new("struct lyd_node **")
            ret = lib.lyd_parse_data(
                self.ctx.cdata, ffi.NULL, inp[0], lib.LYD_XML, pflags, vflags, tree
            )
            lib.ly_in_free(inp[0], 0)
            if ret != lib.LY_SUCCESS:
                if tree[0] != ffi.NULL:
                    lib.lyd_free_all(tree[0])
                raise self._errors(xml if validate else None)
            if tree[0] == ffi.NULL:
                return None
            return libyang.DNode.new(self.ctx, tree[0])

    def merge_xml(self, *documents: str) -> str:
        """Merge several data documents (config and state of the same lists) with libyang."""
        merged = None
        try:
            for xml in documents:
                if not xml.strip():
                    continue
                tree = self.parse(xml, validate=False, state=True)
                if tree is None:
                    continue
                if merged is None:
                    merged = tree
                    continue
                with self.lock:
                    merged.first_sibling().merge(
                        tree.first_sibling(), with_siblings=True, destruct=True
                    )
            if merged is None:
                return ""
            with self.lock:
                return merged.first_sibling().print_mem("xml", with_siblings=True, pretty=False)
        finally:
            if merged is not None:
                with self.lock:
                    merged.first_sibling().free()

    def _errors(self, xml: str | None = None) -> AgentErrors:
        """The stored libyang errors; with the `xml` that failed validation, a missing
        mandatory node (which libyang reports by schema path only) becomes one error per
        list entry that lacks it, with the keys in its path."""
        issues = []
        err = lib.ly_err_first(self.ctx.cdata)
        while err:
            issues.append(
                YangIssue(
                    message=ffi.string(err.msg).decode() if err.msg else "invalid data",
                    path=data_location(ffi.string(err.path).decode()) if err.path else None,
                    vecode=err.vecode,
                    app_tag=ffi.string(err.apptag).decode() if err.apptag else None,
                )
            )
            err = err.next
        lib.ly_err_clean(self.ctx.cdata, ffi.NULL)
        if not issues:
            issues.append(YangIssue("libyang rejected the data", None, 0, None))
        if xml is not None:
            issues = [located for i in issues for located in self._locate_missing(i, xml)]
        return AgentErrors([self.to_rpc_error(i) for i in issues])

    # 13: each early return is a case in which the issue is reported as libyang gave it.
    def _locate_missing(self, issue: YangIssue, xml: str) -> list[YangIssue]:  # noqa: C901
        """A missing mandatory leaf or choice at a schema path without keys, as issues at
        the data paths of the entries that lack it (the issue as it is otherwise)."""
        choice = issue.app_tag == "missing-choice"
        path = issue.path or ""
        if "[" in path or not (choice or issue.message.startswith("Mandatory node")):
            return [issue]
        found = re.fullmatch(r"/([\w.-]+):(.*)", path)
        if not found or found.group(1) not in self.namespaces:
            return [issue]
        module, names = found.group(1), found.group(2).split("/")
        namespace = self.namespaces[module]
        steps: list[str] = []  # the data nodes of the path (choice and case names left out)
        node: SchemaNode | None = self.root
        for name in names:
            child = node.child(namespace, name) if node else None
            if child is not None:
                steps.append(name)
                node = child
        missing = names[-1]
        if not choice:
            steps = steps[:-1]
        try:
            tree = self.parse(xml, validate=False)
        except AgentErrors:
            return [issue]
        located = []
        try:
            for depth in range(len(steps), 0, -1):
                entries = tree.find_all(f"/{module}:" + "/".join(steps[:depth])) if tree else []
                entries = list(entries)
                if entries:
                    break
            else:
                return [issue]
            rest = "/".join(steps[depth:])
            members = self._choice_members(f"/{module}:" + "/".join(steps), missing)
            for entry in entries:
                holder = entry.find_one(rest) if rest else entry
                if choice:
                    present = holder is not None and any(holder.find_one(m) for m in members)
                    where = entry.path() + (f"/{rest}" if rest else "")
                else:
                    present = holder is not None and holder.find_one(missing) is not None
                    where = entry.path() + (f"/{rest}" if rest else "") + f"/{missing}"
                if not present:
                    located.append(YangIssue(issue.message, where, issue.vecode, issue.app_tag))
        finally:
            if tree is not None:
                tree.first_sibling().free()
        return located or [issue]

    def _choice_members(self, parent_path: str, choice: str) -> list[str]:
        """Names of the data nodes directly under the choice `choice` of a schema node."""
        try:
            parent = next(self.ctx.find_path(parent_path))
        except (StopIteration, libyang.LibyangError):
            return []
        members = []
        for child in parent.children():
            up = child.cdata.parent
            while up != ffi.NULL and up.nodetype in (lib.LYS_CASE, lib.LYS_CHOICE):
                if up.nodetype == lib.LYS_CHOICE and ffi.string(up.name).decode() == choice:
                    members.append(child.name())
                    break
                up = up.parent
        return members

    def to_rpc_error(self, issue: YangIssue) -> AgentError:
        return as_agent_error(issue, self.prefixes, self.namespaces)

    def xpath(self, ly_path: str) -> tuple[str, dict[str, str]]:
        """Turn a libyang path (JSON-style module prefixes) into an RFC 6241 error-path."""
        return qualify_path(ly_path, self.prefixes, self.namespaces)


def _enable(mod: libyang.Module, features: tuple[str, ...]) -> None:
    """Enable exactly these features (together: some depend on others)."""
    names = [ffi.new("char[]", f.encode()) for f in features]
    array = ffi.new("char *[]", [*names, ffi.NULL])
    if lib.lys_set_implemented(mod.cdata, array) != lib.LY_SUCCESS:
        raise RuntimeError(f"cannot enable the features {features} of {mod.name()}")


def _cases(snode: libyang.SNode) -> tuple[tuple[str, str], ...]:
    out = []
    case = None
    parent = snode.cdata.parent
    while parent != ffi.NULL and parent.nodetype in (lib.LYS_CASE, lib.LYS_CHOICE):
        name = ffi.string(parent.name).decode()
        if parent.nodetype == lib.LYS_CASE:
            case = name
        else:
            out.append((_node_id(parent), case or name))
            case = None
        parent = parent.parent
    return tuple(out)


def _node_id(cnode: Any) -> str:  # a cffi `struct lysc_node *`
    return str(int(ffi.cast("uintptr_t", cnode)))


def module_namespace(mod: libyang.Module) -> str:
    return ffi.string(mod.cdata.ns).decode()


def module_revision(mod: libyang.Module) -> str:
    rev = mod.cdata.revision
    return ffi.string(rev).decode() if rev != ffi.NULL else ""
