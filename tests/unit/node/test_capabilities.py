"""What a node reports it can do: which functional types are ready and, when not, why.

The kernel probe is the one I/O dependency; a subclass of it returns a fixed feature set
instead of probing, so `missing()` and the feature report are the real code. Executables are
looked up on a search path made in tmp_path.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from lxml import etree

from nnfv_agent.drivers.naming import Names
from nnfv_agent.model.template import Template
from nnfv_agent.node.capabilities import (
    COMPUTE_DRIVERS,
    NODE,
    WELL_KNOWN_EXECUTABLES,
    Accelerator,
    NodeCapabilities,
)
from nnfv_agent.node.probe import Feature, KernelProbe

N = {"n": NODE}


class FixedProbe(KernelProbe):
    """A probe whose kernel has exactly `features` (nothing is run)."""

    def __init__(self, features: dict[str, bool]) -> None:
        super().__init__(Names("mirror"))
        self.fixed = {
            name: Feature(name, ok, "works" if ok else "module not loaded")
            for name, ok in features.items()
        }

    def _probe(self) -> dict[str, Feature]:
        return dict(self.fixed)


def template(
    name: str,
    ftype: str = "firewall",
    *deps: tuple[str, str],
    vnf_type: str = "native",
) -> Template:
    return Template(
        name=name,
        functional_type=ftype,
        uri="file:///t.tgz",
        sha256="0" * 64,
        vnf_type=vnf_type,
        sharable=False,
        ports=("in", "out"),
        scripts=(),
        dependencies=tuple(sorted(deps)),
    )


def executable(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(stat.S_IRWXU)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    return directory


@pytest.fixture
def caps(tmp_path: Path, bin_dir: Path) -> NodeCapabilities:
    return NodeCapabilities(FixedProbe({"nftables": True, "vxlan": False}), str(bin_dir), tmp_path)


def test_executable_is_found_on_the_search_path_only(caps: NodeCapabilities, bin_dir: Path) -> None:
    assert caps.executable("nnfv-mirror-tool") is None
    path = executable(bin_dir, "nnfv-mirror-tool")
    assert caps.executable("nnfv-mirror-tool") == str(path)


def test_unknown_package_is_not_installed() -> None:
    assert NodeCapabilities.package("nnfv-mirror-no-such-package") is False


def test_template_with_every_dependency_met_is_missing_nothing(
    caps: NodeCapabilities, bin_dir: Path
) -> None:
    executable(bin_dir, "nft")
    tpl = template("fw", "firewall", ("executable", "nft"), ("kernel-feature", "nftables"))
    assert caps.missing(tpl) is None


@pytest.mark.parametrize(
    ("dependency", "why"),
    [
        (("executable", "nnfv-mirror-absent"), "missing capability: executable nnfv-mirror-absent"),
        (("package", "nnfv-mirror-absent"), "missing capability: package nnfv-mirror-absent"),
        (
            ("kernel-feature", "vxlan"),
            "missing capability: kernel feature vxlan (module not loaded)",
        ),
        (("kernel-feature", "warp"), "missing capability: unknown kernel feature warp"),
    ],
    ids=["executable", "package", "kernel-feature", "unknown-feature"],
)
def test_missing_dependency_is_named(
    caps: NodeCapabilities, dependency: tuple[str, str], why: str
) -> None:
    assert caps.missing(template("t", "x", dependency)) == why


def test_environments_are_those_with_a_compute_driver(caps: NodeCapabilities) -> None:
    assert caps.execution_environments() == list(COMPUTE_DRIVERS) == ["native"]


def test_functional_type_is_ready_when_one_of_its_templates_is(
    caps: NodeCapabilities, bin_dir: Path
) -> None:
    executable(bin_dir, "nft")
    templates = {
        "fw-b": template("fw-b", "firewall", ("kernel-feature", "vxlan")),
        "fw-a": template("fw-a", "firewall", ("executable", "nft")),
    }
    [fn] = caps.functions(templates).values()
    assert (fn.functional_type, fn.ready, fn.reason) == ("firewall", True, "")
    assert fn.templates == ("fw-a", "fw-b")  # sorted by name
    assert fn.flavours == ("native",)


def test_functional_type_with_no_ready_template_says_why_for_each(
    caps: NodeCapabilities,
) -> None:
    templates = {
        "vm": template("vm", "dpi", vnf_type="vm"),
        "n": template("n", "dpi", ("executable", "nnfv-mirror-absent")),
    }
    fn = caps.functions(templates)["dpi"]
    assert fn.ready is False
    assert fn.flavours == ("native", "vm")
    assert fn.reason == (
        "n: missing capability: executable nnfv-mirror-absent; "
        "vm: missing capability: execution environment vm "
        "(this agent has no compute driver for it)"
    )


def test_functions_are_one_per_functional_type_in_order(caps: NodeCapabilities) -> None:
    templates = {n: template(n, t) for n, t in [("z", "nat"), ("y", "bridge"), ("x", "nat")]}
    fns = caps.functions(templates)
    assert list(fns) == ["bridge", "nat"]
    assert fns["nat"].templates == ("x", "z")
    assert caps.functions({}) == {}


def test_report_lists_functions_kernel_features_executables_and_accelerators(
    tmp_path: Path, bin_dir: Path
) -> None:
    executable(bin_dir, "nft")
    caps = NodeCapabilities(
        FixedProbe({"nftables": True, "vxlan": False}),
        str(bin_dir),
        tmp_path,
        (Accelerator("qat0", "crypto"),),
    )
    templates = {
        "fw": template("fw", "firewall", ("executable", "nft")),
        "tool": template("tool", "probe", ("executable", "nnfv-mirror-absent")),
    }
    root = etree.fromstring(caps.xml(templates, committed=(1024, 300)))
    functional = "n:capabilities/n:functional/n:function"
    assert root.xpath(f"{functional}/n:functional-type/text()", namespaces=N) == [
        "firewall",
        "probe",
    ]
    assert root.xpath(f"{functional}/n:ready/text()", namespaces=N) == ["true", "false"]
    assert root.xpath(f"{functional}[n:ready='false']/n:reason/text()", namespaces=N) == [
        "tool: missing capability: executable nnfv-mirror-absent"
    ]
    infra = root.find("n:capabilities/n:infrastructural", N)
    assert infra is not None
    assert infra.xpath("n:execution-environment/text()", namespaces=N) == ["native"]
    features = {
        k.findtext("n:name", namespaces=N): k.findtext("n:available", namespaces=N)
        for k in infra.findall("n:kernel-feature", N)
    }
    assert features == {"nftables": "true", "vxlan": "false"}
    exes = {
        e.findtext("n:name", namespaces=N): (
            e.findtext("n:available", namespaces=N),
            e.findtext("n:path", namespaces=N),
        )
        for e in infra.findall("n:executable", N)
    }
    # The well-known ones and every template dependency, found or not, sorted by name.
    assert list(exes) == sorted({*WELL_KNOWN_EXECUTABLES, "nnfv-mirror-absent"})
    assert exes["nft"] == ("true", str(bin_dir / "nft"))
    assert exes["nnfv-mirror-absent"] == ("false", None)
    [acc] = infra.findall("n:accelerator", N)
    assert [c.text for c in acc] == [
        "qat0",
        "crypto",
        "true",
        "declared in the agent configuration",
    ]
    committed = root.find("n:resources/n:committed", N)
    assert committed is not None
    assert [c.text for c in committed] == ["1024", "300"]
