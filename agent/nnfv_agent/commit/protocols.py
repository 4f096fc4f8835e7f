"""What the planner needs of the drivers: the paper's network and compute operations.

The native drivers implement these; the planner's unit tests use recording fakes of them.
"""

from __future__ import annotations

from typing import Protocol

from ..drivers.compute.instance import NFInstance
from ..drivers.network.native import SteeringBatch
from ..model.graph import Endpoint, Graph


class NetworkDriver(Protocol):
    """LSIs, ports and steering rules (Table I)."""

    def create_nf_port(self, graph: str, nf: str, port: str, netns: str, ifname: str) -> None:
        """createPort of an NF: a veth pair, one end in the NF's namespace."""

    def delete_nf_port(self, graph: str, nf: str, port: str) -> None: ...

    def settle_nf_ports(self, ports: list[tuple[str, str, str]]) -> None:
        """Wait until the kernel has dropped the LSI side of ports whose namespace went."""

    def create_endpoint(self, graph: str, ep: Endpoint) -> None: ...

    def delete_endpoint(self, graph: str, ep: Endpoint, last: bool | None = None) -> None: ...

    def delete_endpoints(self, endpoints: list[tuple[str, Endpoint, bool]]) -> None:
        """Several endpoints (graph, endpoint, last of its internal group) in one batch."""

    def steering_batch(self, graphs: dict[str, Graph | None]) -> SteeringBatch:
        """One atomic batch giving each graph its LSI (None: delete it)."""

    def apply_steering(self, batch: SteeringBatch) -> None: ...


class ComputeDriver(Protocol):
    """NF lifecycle (Table II)."""

    def create(self, inst: NFInstance) -> None: ...

    def start(self, inst: NFInstance) -> None: ...

    def stop(self, inst: NFInstance) -> None: ...

    def update(self, inst: NFInstance, extra_env: dict[str, str] | None = None) -> None: ...

    def pause(self, inst: NFInstance) -> None: ...

    def resume(self, inst: NFInstance) -> None: ...

    def delete(self, inst: NFInstance) -> None: ...
