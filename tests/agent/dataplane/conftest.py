"""A simulated CPE per test: namespaces cpe/lan/wan, and a native-data-plane agent managing it.

Every kernel object the test or the agent creates is removed at the end, even on failure;
`cpe.assert_clean()` proves that removing the graphs through NETCONF already left nothing.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphs import graphs_config
from nnfv_agent.netconf.client import NetconfClient
from simfleet import PASSWORD, USER, SimCpe
from support.kernel import Snapshot, snapshot

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Data-plane tests build simulated CPEs (namespaces, veths, nft tables, cgroups): they are
    kernel tests like tests/kernel, marked so, and skipped without root."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.kernel)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="simulated CPEs need root"))


SG = "urn:nnfv:yang:nnfv-service-graph"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


class Cpe(SimCpe):
    baseline: Snapshot

    def client(self) -> NetconfClient:
        return NetconfClient("127.0.0.1", self.port, USER, password=PASSWORD)

    def push(self, *graphs: str, replace: bool = False) -> None:
        """edit-config the graphs into the candidate and commit, in one session."""
        with self.client() as c:
            if replace:
                c.rpc(
                    "<edit-config><target><candidate/></target><default-operation>replace"
                    f'</default-operation><config xmlns="{NC}">{graphs_config(*graphs)}'
                    "</config></edit-config>"
                )
            else:
                c.edit_config(graphs_config(*graphs))
            c.commit()

    def commit(self, config: str) -> None:
        """edit-config any configuration into the candidate and commit it."""
        with self.client() as c:
            c.edit_config(config)
            c.commit()

    def remove_all(self) -> None:
        with self.client() as c:
            c.edit_config(f'<graphs xmlns="{SG}" xmlns:nc="{NC}" nc:operation="remove"/>')
            c.commit()

    def get_state(self, filter_xml: str = f'<graphs xmlns="{SG}"/>') -> str:
        with self.client() as c:
            return c.rpc(f'<get><filter type="subtree">{filter_xml}</filter></get>')

    def snapshot(self) -> Snapshot:
        return snapshot(self.id, self.cpe_ns)

    def assert_clean(self) -> None:
        leaks = self.snapshot().leaks_since(self.baseline)
        assert not leaks, f"kernel objects left behind: {leaks}"


@contextlib.contextmanager
def simulated_cpe(tmp_path: Path, **settings: str) -> Iterator[Cpe]:
    """A CPE with its agent running (`settings` on top of its agent.toml), destroyed after."""
    sim = Cpe(f"t{uuid.uuid4().hex[:6]}", str(tmp_path / "cpe"))
    try:
        sim.create_network()
        sim.write_config(**{"script_timeout": "10", **settings})
        sim.start_agent()
        sim.baseline = sim.snapshot()
        yield sim
    finally:
        sim.destroy()


def tool_dir(tmp_path: Path) -> tuple[Path, str]:
    """A directory of executables the test controls, and an executable_path that has it first."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    return bin_dir, f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture
def cpe(tmp_path) -> Iterator[Cpe]:
    with simulated_cpe(tmp_path) as sim:
        yield sim


NT = "urn:nnfv:yang:nnfv-nnf-template"


def template_xml(
    tmp_path,
    name: str,
    scripts: dict[str, str],
    *,
    ftype: str | None = None,
    ports: tuple[str, ...] = ("in", "out"),
    sharable: bool = False,
    params: tuple[str, ...] = (),
    sha256: str | None = None,
    archive: str | None = None,
) -> str:
    """Pack a template directory of shell scripts and return its <templates> config."""
    from nnfv_agent.node.packing import pack_directory

    src = tmp_path / f"tpl-{name}"
    (src / "scripts").mkdir(parents=True)
    for event, body in scripts.items():
        path = src / "scripts" / event
        path.write_text("#!/bin/sh\nset -eu\n" + body + "\n")
        path.chmod(0o755)
    tgz = tmp_path / f"{name}.tgz"
    digest = pack_directory(src, tgz)
    if archive:
        tgz = tmp_path / archive
    ports_xml = "".join(
        f"<port><name>{p}</name><index>{i}</index></port>" for i, p in enumerate(ports)
    )
    lcm = "".join(
        f"<lifecycle-management-script><event>{e}</event><script>scripts/{e}</script>"
        "</lifecycle-management-script>"
        for e in scripts
    )
    params_xml = "".join(f"<parameter><name>{p}</name></parameter>" for p in params)
    return (
        f'<templates xmlns="{NT}"><template><name>{name}</name>'
        f"<functional-type>{ftype or name}</functional-type><uri>{tgz.as_uri()}</uri>"
        f"<sha256>{sha256 or digest}</sha256><sharable>{str(sharable).lower()}</sharable>"
        f"{ports_xml}{lcm}{params_xml}</template></templates>"
    )
