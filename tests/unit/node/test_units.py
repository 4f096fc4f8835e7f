"""What reconciliation and supervision share about a unit: judging an LSI, rebuilding an NF.

Recording fakes of the drivers; no root, no kernel.
"""

from __future__ import annotations

from nnfv_agent.commit.deployment import Member
from nnfv_agent.drivers.compute.instance import Port
from nnfv_agent.drivers.network.nftables import Chain
from nnfv_agent.model.graph import NF, Endpoint, Graph
from nnfv_agent.model.template import Template
from nnfv_agent.node.units import View, lsi_problem, rebuild_instance

TEMPLATE = Template(
    name="fw",
    functional_type="firewall",
    uri="file:///t/fw.tgz",
    sha256="0" * 64,
    vnf_type="native",
    sharable=False,
    ports=("in", "out"),
    scripts=(("start", "start.sh"), ("stop", "stop.sh")),
    dependencies=(),
    parameters=(),
)


class Links:
    def __init__(self, calls: list[tuple[str, ...]], present: set[str]) -> None:
        self.calls, self.present = calls, present
        self.index = {name: 10 + i for i, name in enumerate(sorted(present))}

    def names(self) -> list[str]:
        return sorted(self.present)

    def indices(self) -> dict[str, int]:
        return dict(self.index)

    def delete(self, name: str) -> None:
        self.calls.append(("deleteLink", name))


class Network:
    def __init__(self, calls: list[tuple[str, ...]], links: set[str], chains: set[str] | None):
        self.calls, self.links, self.chains = calls, Links(calls, links), chains
        self.written: frozenset[Chain] = frozenset()

    def written_chains(self, graph: str) -> frozenset[Chain]:
        return self.written

    def nf_port_device(self, graph: str, nf: str, port: str) -> str:
        return f"p-{graph}-{nf}-{port}"

    def endpoint_device(self, graph: str, ep: Endpoint) -> str:
        return f"e-{graph}-{ep.id}"

    def lsi_chains(self) -> set[str] | None:
        return self.chains

    def lsi_chain_names(self, graph: Graph) -> dict[str, str]:
        return {f"e-{graph.name}-{e}": f"c-{graph.name}-{e}" for e in sorted(graph.endpoints)}

    def create_nf_port(self, graph: str, nf: str, port: str, netns: str, ifname: str) -> None:
        self.calls.append(("createPort", f"{graph}/{nf}:{port}", netns, ifname))


class Compute:
    def __init__(self, calls: list[tuple[str, ...]]) -> None:
        self.calls = calls

    def delete(self, inst: object) -> None:
        self.calls.append(("deleteNF", inst.key))  # type: ignore[attr-defined]

    def create(self, inst: object) -> None:
        self.calls.append(("createNF", inst.key))  # type: ignore[attr-defined]

    def start(self, inst: object) -> None:
        self.calls.append(("startNF", inst.key))  # type: ignore[attr-defined]

    def pause(self, inst: object) -> None:
        self.calls.append(("pauseNF", inst.key))  # type: ignore[attr-defined]


class Names:
    lsi_table = "nnfv_t000001_lsi"


class Kernel:
    def __init__(self, links: set[str] = frozenset(), chains: set[str] | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.network = Network(self.calls, set(links), chains)
        self.compute = Compute(self.calls)
        self.names = Names()


def member(admin: str = "running") -> Member:
    nf = NF("fw1", "firewall", "fw", "default", ("in", "out"), (), admin)
    ports = (Port("in", "eth0"), Port("out", "eth1"))
    return Member("g1", nf, TEMPLATE, "nnfv-t000001-abc", ports, ())


def graph(*endpoints: str) -> Graph:
    return Graph("g1", True, endpoints={e: Endpoint(e, "internal", group="x") for e in endpoints})


def test_rebuild_instance_recreates_it_with_fresh_ports_then_starts_it() -> None:
    kernel = Kernel()
    rebuild_instance(kernel, [member()])  # type: ignore[arg-type]
    key = "nnfv-t000001-abc"
    assert kernel.calls == [
        ("deleteNF", key),
        ("createNF", key),
        ("deleteLink", "p-g1-fw1-in"),
        ("createPort", "g1/fw1:in", key, "eth0"),
        ("deleteLink", "p-g1-fw1-out"),
        ("createPort", "g1/fw1:out", key, "eth1"),
        ("startNF", key),
    ]


def test_rebuild_instance_of_a_paused_nf_leaves_it_paused() -> None:
    kernel = Kernel()
    rebuild_instance(kernel, [member(admin="paused")])  # type: ignore[arg-type]
    assert kernel.calls[-2:] == [("startNF", "nnfv-t000001-abc"), ("pauseNF", "nnfv-t000001-abc")]


def test_lsi_problem_is_none_when_devices_table_and_chains_are_there() -> None:
    kernel = Kernel({"e-g1-lan", "e-g1-wan"}, {"c-g1-lan", "c-g1-wan"})
    assert lsi_problem(kernel, graph("lan", "wan"), View(kernel)) is None  # type: ignore[arg-type]


def test_lsi_problem_names_a_missing_endpoint_device() -> None:
    kernel = Kernel({"e-g1-lan"}, {"c-g1-lan", "c-g1-wan"})
    problem = lsi_problem(kernel, graph("lan", "wan"), View(kernel))  # type: ignore[arg-type]
    assert problem == "the LSI port e-g1-wan of endpoint wan is gone"


def test_lsi_problem_names_the_node_table_when_it_is_gone() -> None:
    kernel = Kernel({"e-g1-lan"}, None)
    problem = lsi_problem(kernel, graph("lan"), View(kernel))  # type: ignore[arg-type]
    assert problem == "the node's LSI table nnfv_t000001_lsi is gone"


def test_lsi_problem_names_a_missing_chain_of_a_present_port() -> None:
    kernel = Kernel({"e-g1-lan", "e-g1-wan"}, {"c-g1-lan"})
    problem = lsi_problem(kernel, graph("lan", "wan"), View(kernel))  # type: ignore[arg-type]
    assert problem == "the LSI chain c-g1-wan of its port e-g1-wan is gone"


def test_lsi_problem_names_a_port_made_again_under_a_new_ifindex() -> None:
    kernel = Kernel({"e-g1-lan", "e-g1-wan"}, {"c-g1-lan", "c-g1-wan"})
    wan = kernel.network.links.index["e-g1-wan"]
    kernel.network.written = frozenset(
        {Chain("c-g1-lan", "e-g1-lan", (), kernel.network.links.index["e-g1-lan"])}
        | {Chain("c-g1-wan", "e-g1-wan", (), wan)}
    )
    assert lsi_problem(kernel, graph("lan", "wan"), View(kernel)) is None  # type: ignore[arg-type]
    kernel.network.links.index["e-g1-wan"] = 99  # unplugged and plugged back
    problem = lsi_problem(kernel, graph("lan", "wan"), View(kernel))  # type: ignore[arg-type]
    assert problem == (
        f"the LSI port e-g1-wan was made again (ifindex {wan}, now 99): "
        "the graph's rules must be written for it again"
    )


def test_view_reads_each_kernel_list_once() -> None:
    kernel = Kernel({"a"}, {"c"})
    reads: list[str] = []
    network = kernel.network
    indices, chains = network.links.indices, network.lsi_chains
    network.links.indices = lambda: reads.append("links") or indices()  # type: ignore[method-assign]
    network.lsi_chains = lambda: reads.append("chains") or chains()  # type: ignore[method-assign]
    view = View(kernel)  # type: ignore[arg-type]
    assert set(view.links()) == set(view.links()) == {"a"}
    assert view.lsi_chains() == view.lsi_chains() == {"c"}
    assert reads == ["links", "chains"]
