"""Imports go one way: a new import cycle in the agent package fails here.

Type-only imports count too. The allowlists are empty, and an entry that no longer exists in
the code fails as well: a back-edge is fixed with a narrow interface (a Protocol declared by
the lower layer, as netconf/interfaces.py and node/supervisor.py do), not listed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import import_layers

# Back-edges that still close a cycle (importer, imported), relative to nnfv_agent.
ALLOWED_MODULE_BACK_EDGES: set[tuple[str, str]] = set()
ALLOWED_PACKAGE_BACK_EDGES: set[tuple[str, str]] = set()
PREFIX = "nnfv_agent."


def _without(graph: import_layers.Graph, allowed: set[tuple[str, str]]) -> import_layers.Graph:
    pruned = import_layers.Graph(set(graph.nodes))
    for a, b in graph.edges:
        if (a.removeprefix(PREFIX), b.removeprefix(PREFIX)) not in allowed:
            pruned.add(a, b)
    return pruned


def _short(cycles: list[list[str]]) -> list[list[str]]:
    return [[m.removeprefix(PREFIX) for m in c] for c in cycles]


@pytest.fixture(scope="module")
def graphs() -> tuple[import_layers.Graph, import_layers.Graph]:
    # Type-only imports count: they tie two modules' types together all the same.
    return import_layers.graphs(import_layers.DEFAULT_ROOT, runtime_only=False)


def test_modules_form_no_import_cycle_beyond_the_allowlist(graphs):
    modules, _ = graphs
    assert _short(_without(modules, ALLOWED_MODULE_BACK_EDGES).cycles()) == []


def test_packages_form_no_import_cycle_beyond_the_allowlist(graphs):
    _, packages = graphs
    assert _short(_without(packages, ALLOWED_PACKAGE_BACK_EDGES).cycles()) == []


def test_every_allowlisted_back_edge_still_exists_so_the_list_only_shrinks(graphs):
    modules, packages = graphs
    module_edges = {(a.removeprefix(PREFIX), b.removeprefix(PREFIX)) for a, b in modules.edges}
    package_edges = {(a.removeprefix(PREFIX), b.removeprefix(PREFIX)) for a, b in packages.edges}
    assert ALLOWED_MODULE_BACK_EDGES - module_edges == set()
    assert ALLOWED_PACKAGE_BACK_EDGES - package_edges == set()


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_checker_finds_a_cycle_closed_by_a_function_level_relative_import(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": "def f():\n    from ..high import b\n",
            "high/__init__.py": "",
            "high/b.py": "from ..low.a import f\n",
        },
    )
    modules, packages = import_layers.graphs(root)
    assert modules.cycles() == [["pkg.high.b", "pkg.low.a"]]
    assert packages.cycles() == [["pkg.high", "pkg.low"]]


def test_checker_counts_type_checking_imports_only_in_the_full_view(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n",
            "b.py": "from . import a\n",
        },
    )
    assert import_layers.graphs(root)[0].cycles() == [["pkg.a", "pkg.b"]]
    assert import_layers.graphs(root, runtime_only=True)[0].cycles() == []


def test_checker_does_not_count_a_package_init_reexporting_its_submodule_as_a_cycle(tmp_path):
    root = _package(tmp_path, {"__init__.py": "from .a import x\n", "a.py": "x = 1\n"})
    modules, _ = import_layers.graphs(root)
    assert ("pkg", "pkg.a") in modules.edges
    assert modules.cycles() == []
