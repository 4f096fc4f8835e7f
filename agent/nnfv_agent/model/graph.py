"""Service graphs as immutable Python values, read from one graph's canonical config XML."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .template import restart_leaves

SG = "urn:nnfv:yang:nnfv-service-graph"
_S = "{" + SG + "}"

MATCH_FIELDS = (
    "ether-type",
    "vlan-id",
    "source-mac",
    "destination-mac",
    "source-ipv4",
    "destination-ipv4",
    "source-ipv6",
    "destination-ipv6",
    "ip-protocol",
    "source-port",
    "destination-port",
    "dscp",
)
REWRITE_FIELDS = (
    "set-source-mac",
    "set-destination-mac",
    "set-source-ipv4",
    "set-destination-ipv4",
    "set-source-ipv6",
    "set-destination-ipv6",
)


@dataclass(frozen=True)
class NF:
    id: str
    functional_type: str | None
    template: str | None
    flavour: str
    ports: tuple[str, ...]
    params: tuple[tuple[str, str], ...]
    admin_state: str = "running"
    # restart-policy leaves set on the NF: (leaf name, text), overriding its template's.
    restart: tuple[tuple[str, str], ...] = ()

    @property
    def param_dict(self) -> dict[str, str]:
        return dict(self.params)


@dataclass(frozen=True)
class Endpoint:
    id: str
    kind: str  # interface | vlan | vxlan | internal
    interface: str | None = None
    vlan_id: int | None = None
    remote: str | None = None
    local: str | None = None
    vni: int | None = None
    dst_port: int = 4789
    group: str | None = None


@dataclass(frozen=True)
class PortRef:
    """`endpoint:<id>` or `nf:<nf>:<port>`."""

    endpoint: str | None = None
    nf: str | None = None
    port: str | None = None

    @classmethod
    def parse(cls, text: str) -> PortRef:
        kind, _, rest = text.partition(":")
        if kind == "endpoint":
            return cls(endpoint=rest)
        nf, _, port = rest.partition(":")
        return cls(nf=nf, port=port)

    def __str__(self) -> str:
        return f"endpoint:{self.endpoint}" if self.endpoint else f"nf:{self.nf}:{self.port}"


@dataclass(frozen=True)
class FlowRule:
    id: str
    priority: int
    port_in: PortRef
    match: tuple[tuple[str, str], ...]
    outputs: tuple[PortRef, ...]
    drop: bool
    rewrites: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Graph:
    name: str
    enabled: bool
    nfs: dict[str, NF] = field(default_factory=dict, hash=False)
    endpoints: dict[str, Endpoint] = field(default_factory=dict, hash=False)
    rules: dict[str, FlowRule] = field(default_factory=dict, hash=False)

    def network_view(self) -> tuple:
        """Everything the steering rules depend on, to tell whether they must be rebuilt."""
        return (
            tuple(sorted(self.rules.items())),
            tuple(sorted(self.endpoints.items())),
            tuple(sorted((n.id, n.ports) for n in self.nfs.values())),
            self.enabled,
        )


def _t(el: etree._Element, name: str) -> str | None:
    found = el.find(_S + name)
    return None if found is None else (found.text or "").strip()


def _req(el: etree._Element, name: str) -> str:
    """A key or mandatory leaf (libyang has validated that it is there)."""
    value = _t(el, name)
    if value is None:
        raise ValueError(f"graph element {etree.QName(el).localname}: no {name}")
    return value


def _graph(el: etree._Element) -> Graph:
    nfs: dict[str, NF] = {}
    for nf in el.findall(_S + "nf"):
        ports = tuple(_req(p, "name") for p in nf.findall(_S + "port"))
        params = tuple(
            sorted(
                (_req(p, "name"), p.findtext(_S + "value") or "")
                for p in nf.findall(_S + "config-parameter")
            )
        )
        nfs[_req(nf, "id")] = NF(
            _req(nf, "id"),
            _t(nf, "functional-type"),
            _t(nf, "template"),
            _t(nf, "flavour") or "any",
            ports,
            params,
            _t(nf, "admin-state") or "running",
            restart_leaves(nf.find(_S + "restart-policy")),
        )
    endpoints = {_req(ep, "id"): _endpoint(ep) for ep in el.findall(_S + "endpoint")}
    rules = {_req(r, "id"): _rule(r) for r in el.findall(_S + "flow-rule")}
    return Graph(
        _req(el, "name"), (_t(el, "admin-state") or "enabled") == "enabled", nfs, endpoints, rules
    )


def _endpoint(ep: etree._Element) -> Endpoint:
    eid = _req(ep, "id")
    if (iface := _t(ep, "interface")) is not None:
        return Endpoint(eid, "interface", interface=iface)
    if (vlan := ep.find(_S + "vlan")) is not None:
        return Endpoint(
            eid, "vlan", interface=_t(vlan, "interface"), vlan_id=int(_req(vlan, "vlan-id"))
        )
    if (vx := ep.find(_S + "vxlan")) is not None:
        return Endpoint(
            eid,
            "vxlan",
            interface=_t(vx, "interface"),
            remote=_t(vx, "remote"),
            local=_t(vx, "local"),
            vni=int(_req(vx, "vni")),
            dst_port=int(_t(vx, "dst-port") or 4789),
        )
    return Endpoint(eid, "internal", group=_t(ep, "internal-group"))


def _rule(r: etree._Element) -> FlowRule:
    match = r.find(_S + "match")
    actions = r.find(_S + "actions")
    fields = tuple((f, v) for f in MATCH_FIELDS if (v := _t(match, f)) is not None)
    outputs: tuple[PortRef, ...] = ()
    rewrites: tuple[tuple[str, str], ...] = ()
    drop = False
    if actions is not None:
        outputs = tuple(
            PortRef.parse((o.text or "").strip()) for o in actions.findall(_S + "output")
        )
        rewrites = tuple((f, v) for f in REWRITE_FIELDS if (v := _t(actions, f)) is not None)
        drop = actions.find(_S + "drop") is not None
    return FlowRule(
        _req(r, "id"),
        int(_req(r, "priority")),
        PortRef.parse(_req(match, "port-in")),
        fields,
        outputs,
        drop,
        rewrites,
    )


def graph_from_xml(xml: str) -> Graph:
    """One <graph> element (as libyang prints a single list entry)."""
    return _graph(etree.fromstring(xml.encode()))
