"""NNF template descriptors as immutable values (from config XML or a shipped template.xml)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lxml import etree

NT = "urn:nnfv:yang:nnfv-nnf-template"
_T = "{" + NT + "}"


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str | None
    mandatory: bool


@dataclass(frozen=True)
class Template:
    name: str
    functional_type: str
    uri: str
    sha256: str
    vnf_type: str
    sharable: bool
    ports: tuple[str, ...]  # in index order
    scripts: tuple[tuple[str, str], ...]  # (event, relative path)
    dependencies: tuple[tuple[str, str], ...]  # (kind, name)
    memory: int | None = None
    memory_limit: int | None = None
    cpu_weight: int | None = None
    pids_limit: int | None = None
    parameters: tuple[Parameter, ...] = ()
    origin: str = "configured"  # configured | shipped
    # restart-policy leaves set on the template: (leaf name, text), overriding the agent's.
    restart: tuple[tuple[str, str], ...] = ()

    def script(self, event: str) -> str | None:
        return dict(self.scripts).get(event)

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def _t(el: etree._Element, name: str) -> str | None:
    found = el.find(_T + name)
    return None if found is None else (found.text or "").strip()


def _req(el: etree._Element, name: str) -> str:
    """A key or mandatory leaf (libyang has validated that it is there)."""
    value = _t(el, name)
    if value is None:
        raise ValueError(f"template element {etree.QName(el).localname}: no {name}")
    return value


def _int(el: etree._Element | None, name: str) -> int | None:
    if el is None:
        return None
    value = _t(el, name)
    return int(value) if value else None


def template_from_element(el: etree._Element, origin: str = "configured") -> Template:
    ports = sorted(el.findall(_T + "port"), key=lambda p: int(_t(p, "index") or 0))
    resources = el.find(_T + "resources")
    return Template(
        name=_req(el, "name"),
        functional_type=_req(el, "functional-type"),
        uri=_t(el, "uri") or "",
        sha256=(_t(el, "sha256") or "").lower(),
        vnf_type=_t(el, "vnf-type") or "native",
        sharable=(_t(el, "sharable") or "false") == "true",
        ports=tuple(_req(p, "name") for p in ports),
        scripts=tuple(
            sorted(
                (_req(s, "event"), _req(s, "script"))
                for s in el.findall(_T + "lifecycle-management-script")
            )
        ),
        dependencies=tuple(
            sorted((_req(d, "kind"), _req(d, "name")) for d in el.findall(_T + "dependency"))
        ),
        memory=_int(resources, "memory"),
        memory_limit=_int(resources, "memory-limit"),
        cpu_weight=_int(resources, "cpu-weight"),
        pids_limit=_int(resources, "pids-limit"),
        parameters=tuple(
            Parameter(
                _req(p, "name"),
                _t(p, "type") or "string",
                _t(p, "default"),
                (_t(p, "mandatory") or "false") == "true",
            )
            for p in el.findall(_T + "parameter")
        ),
        origin=origin,
        restart=restart_leaves(el.find(_T + "restart-policy")),
    )


def restart_leaves(policy: etree._Element | None) -> tuple[tuple[str, str], ...]:
    """The leaves of a restart-policy container, by local name, sorted."""
    if policy is None:
        return ()
    return tuple(
        sorted(
            (etree.QName(leaf).localname, (leaf.text or "").strip())
            for leaf in policy
            if isinstance(leaf.tag, str)
        )
    )


def configured_templates(config_xml: str) -> dict[str, Template]:
    if not config_xml.strip():
        return {}
    root = etree.fromstring(f"<data>{config_xml}</data>".encode())
    out = {}
    for templates in root.findall(_T + "templates"):
        for el in templates.findall(_T + "template"):
            tpl = template_from_element(el)
            out[tpl.name] = tpl
    return out


def template_to_dict(tpl: Template) -> dict:
    return asdict(tpl)


def template_from_dict(data: dict) -> Template:
    data = dict(data)
    data["ports"] = tuple(data["ports"])
    data["scripts"] = tuple(tuple(s) for s in data["scripts"])
    data["dependencies"] = tuple(tuple(d) for d in data["dependencies"])
    data["parameters"] = tuple(Parameter(**p) for p in data["parameters"])
    data["restart"] = tuple(tuple(r) for r in data.get("restart", ()))
    return Template(**data)
