"""What the compute driver needs to run one NF instance, resolved by the planner."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...model.template import Template


@dataclass(frozen=True)
class Port:
    name: str  # template/graph port name
    ifname: str  # interface inside the instance namespace


@dataclass(frozen=True)
class NFInstance:
    """One NNF instance. A sharable instance serves several graphs through per-graph ports."""

    key: str  # the network namespace name, unique on the machine
    graph: str  # the graph this call is about (for a sharable instance: the one that caused it)
    nf: str
    template: Template
    ports: tuple[Port, ...]
    params: tuple[tuple[str, str], ...]
    graphs: tuple[str, ...] = field(default=())

    @property
    def netns(self) -> str:
        return self.key

    @property
    def param_dict(self) -> dict[str, str]:
        return dict(self.params)
