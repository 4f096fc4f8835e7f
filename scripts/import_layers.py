"""Import graph of the agent package: which modules and packages import each other in a circle.

The graph is read from the source with `ast`, nothing is imported. Every `import` counts,
at module top level and inside functions, because a function-level import is still a
dependency (it only moves the failure from import time to call time). Imports under
`if TYPE_CHECKING:` are reported separately: they cost nothing at run time but still tie two
modules' types together, so the default view counts them too and `--runtime` leaves them out.

An edge goes to the most specific module named (`from a.b import c` reaches `a.b.c` when that
is a module, `a.b` otherwise). The implicit import of parent packages is not an edge: every
submodule would otherwise form a cycle with an `__init__` that re-exports it.

Package level: each module belongs to the first component under the root (`nnfv_agent.netconf`,
`nnfv_agent.server`, ...). A cycle is a strongly connected component of more than one node.

    python scripts/import_layers.py [--runtime] [--root agent/nnfv_agent]
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "agent" / "nnfv_agent"

Edge = tuple[str, str]


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it was written and how."""

    source: str
    target: str
    type_only: bool


@dataclass
class Graph:
    """A directed graph of names, with the strongly connected components it contains."""

    nodes: set[str] = field(default_factory=set)
    edges: set[Edge] = field(default_factory=set)

    def add(self, source: str, target: str) -> None:
        self.nodes.update((source, target))
        if source != target:
            self.edges.add((source, target))

    def cycles(self) -> list[list[str]]:
        """The components of more than one node, each sorted, largest first."""
        components = [sorted(c) for c in _strongly_connected(self.nodes, self.edges) if len(c) > 1]
        return sorted(components, key=lambda c: (-len(c), c))

    def elementary_cycles(self, limit: int = 100_000) -> int:
        """How many distinct simple cycles there are (each counted once), up to limit."""
        count = 0
        for component in self.cycles():
            members = set(component)
            successors: dict[str, list[str]] = {n: [] for n in component}
            for a, b in self.edges:
                if a in members and b in members:
                    successors[a].append(b)
            for start in component:
                # Count each cycle from its smallest node only, so it is seen once.
                path: list[tuple[str, Iterator[str]]] = [(start, iter(successors[start]))]
                visited = {start}
                while path and count < limit:
                    node, children = path[-1]
                    child = next(children, None)
                    if child is None:
                        visited.discard(node)
                        path.pop()
                    elif child == start:
                        count += 1
                    elif child > start and child not in visited:
                        visited.add(child)
                        path.append((child, iter(successors[child])))
        return count

    def cycle_edges(self) -> set[Edge]:
        """The edges that lie on some cycle (both ends in one component)."""
        component_of = {n: i for i, c in enumerate(self.cycles()) for n in c}
        return {
            (a, b)
            for a, b in self.edges
            if a in component_of and component_of[a] == component_of.get(b)
        }


def module_names(root: Path) -> dict[str, Path]:
    """Every module under root, by dotted name (a package by its `__init__`)."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, type_only: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under node, with whether it sits in an `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, type_only
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), True)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), type_only)
        else:
            yield from _walk(child, type_only)


def _resolve(module: str, is_package: bool, stmt: ast.ImportFrom) -> str:
    """The absolute name a `from ... import` statement's module part stands for."""
    if stmt.level == 0:
        return stmt.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if stmt.level > 1:
        base = base[: len(base) - (stmt.level - 1)]
    return ".".join([*base, stmt.module] if stmt.module else base)


def _known(name: str, modules: Iterable[str]) -> str | None:
    """The longest known module that name is or lies inside."""
    known = set(modules)
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imports(root: Path) -> list[Import]:
    """The imports between modules under root."""
    names = module_names(root)
    found: list[Import] = []
    for module, path in names.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        for stmt, type_only in _walk(tree, False):
            targets: list[str] = []
            if isinstance(stmt, ast.Import):
                targets = [alias.name for alias in stmt.names]
            else:
                base = _resolve(module, is_package, stmt)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in names else base
                    for alias in stmt.names
                ]
            for target in targets:
                resolved = _known(target, names)
                if resolved is not None and resolved != module:
                    found.append(Import(module, resolved, type_only))
    return found


def package_of(module: str, root_name: str) -> str:
    """The first-level package (or top-level module) a module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == root_name and len(parts) > 1 else module


def graphs(root: Path = DEFAULT_ROOT, runtime_only: bool = False) -> tuple[Graph, Graph]:
    """The module-level and the package-level import graphs."""
    modules, packages = Graph(), Graph()
    for name in module_names(root):
        modules.nodes.add(name)
        packages.nodes.add(package_of(name, root.name))
    for imp in imports(root):
        if runtime_only and imp.type_only:
            continue
        modules.add(imp.source, imp.target)
        packages.add(package_of(imp.source, root.name), package_of(imp.target, root.name))
    return modules, packages


def _strongly_connected(nodes: Iterable[str], edges: Iterable[Edge]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph is small, but recursion depth is not ours)."""
    successors: dict[str, list[str]] = {}
    for a, b in edges:
        successors.setdefault(a, []).append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(successors.get(start, [])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: set[str] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(successors.get(child, []))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _report(title: str, graph: Graph, prefix: str) -> None:
    cycles = graph.cycles()
    print(
        f"{title}: {len(cycles)} strongly connected component(s), "
        f"{graph.elementary_cycles()} elementary cycle(s), "
        f"{len(graph.cycle_edges())} edge(s) on a cycle"
    )
    on_cycle = graph.cycle_edges()
    for members in cycles:
        short = [m.removeprefix(prefix) for m in members]
        print(f"  [{len(members)}] " + ", ".join(short))
        for a, b in sorted(on_cycle):
            if a in members:
                print(f"      {a.removeprefix(prefix)} -> {b.removeprefix(prefix)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument(
        "--runtime", action="store_true", help="leave out imports under `if TYPE_CHECKING:`"
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    prefix = root.name + "."
    for runtime_only in (False, True) if not args.runtime else (True,):
        label = "runtime imports" if runtime_only else "all imports (incl. TYPE_CHECKING)"
        modules, packages = graphs(root, runtime_only)
        print(f"== {label}")
        _report("module level", modules, prefix)
        _report("package level", packages, prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
