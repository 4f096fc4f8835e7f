"""The templates this node knows: the shipped ones (packed at start) and the configured ones."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from lxml import etree

from ..model.template import NT, Template, configured_templates, template_from_element

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "nnf_templates"
# The shell library of the shipped templates: one copy in the source, packed into each archive.
SHIPPED_LIB = Path("lib") / "common.sh"
LIB_IN_ARCHIVE = "scripts/nnfv-lib.sh"


def shipped_extras(template_dir: Path, shipped_dir: Path = SHIPPED_DIR) -> dict[str, Path]:
    """The files the packer adds to a shipped template's archive: the shared shell library."""
    lib = shipped_dir / SHIPPED_LIB
    if lib.is_file() and (template_dir / "scripts").is_dir():
        return {LIB_IN_ARCHIVE: lib}
    return {}


class Catalog:
    def __init__(self, cache_dir: Path, shipped_dir: Path = SHIPPED_DIR) -> None:
        self.cache_dir = Path(cache_dir) / "shipped"
        self.shipped_dir = shipped_dir
        self._packed: dict[Path, Template] = {}
        self._complete = False
        # Shipped templates that could not be packed at the last try: directory -> why.
        self.problems: dict[str, str] = {}
        self._lock = threading.Lock()

    def shipped(self) -> dict[str, Template]:
        """Pack each shipped template directory once; the digest names its exact content.

        A template that cannot be packed (a full disk, say) is left out and tried again at
        the next call, so one failure does not hide the shipped templates until a restart.
        """
        with self._lock:
            if not self._complete:
                self._pack_missing()
            return {tpl.name: tpl for _, tpl in sorted(self._packed.items())}

    def _pack_missing(self) -> None:
        from ..drivers.compute.archive import ArchiveError

        problems = {}
        for descriptor in sorted(self.shipped_dir.glob("*/template.xml")):
            if descriptor in self._packed:
                continue
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._packed[descriptor] = self._pack(descriptor)
            except (ArchiveError, OSError, etree.XMLSyntaxError) as exc:
                problems[descriptor.parent.name] = str(exc)
        if problems and problems != self.problems:
            log.error(
                "shipped templates cannot be prepared (tried again at next use): %s",
                "; ".join(f"{name}: {why}" for name, why in sorted(problems.items())),
            )
        self.problems = problems
        self._complete = not problems

    def _pack(self, descriptor: Path) -> Template:
        from .packing import pack_directory  # tarfile only when needed

        root = etree.parse(str(descriptor)).getroot()
        el = root.find(f"{{{NT}}}template") if root.tag == f"{{{NT}}}templates" else root
        archive = self.cache_dir / f"{descriptor.parent.name}.tgz"
        sha = pack_directory(
            descriptor.parent, archive, shipped_extras(descriptor.parent, self.shipped_dir)
        )
        for name, value in (("uri", archive.as_uri()), ("sha256", sha)):
            found = el.find(f"{{{NT}}}{name}")
            if found is None:
                found = etree.SubElement(el, f"{{{NT}}}{name}")
            found.text = value
        return template_from_element(el, origin="shipped")

    def all(self, config_xml: str) -> dict[str, Template]:
        """Configured templates win over shipped ones of the same name."""
        return {**self.shipped(), **configured_templates(config_xml)}

    def shipped_xml(self) -> str:
        """The shipped templates as nnfv-nnf-template:shipped-templates state data."""
        items = []
        for tpl in self.shipped().values():
            items.append(_descriptor_xml(tpl))
        return f'<shipped-templates xmlns="{NT}">{"".join(items)}</shipped-templates>'


def _descriptor_xml(tpl: Template) -> str:
    root = etree.Element(f"{{{NT}}}template", nsmap={None: NT})

    def leaf(parent: etree._Element, name: str, value: object) -> None:
        if value is not None:
            etree.SubElement(parent, f"{{{NT}}}{name}").text = str(value)

    for name, value in (
        ("name", tpl.name),
        ("functional-type", tpl.functional_type),
        ("uri", tpl.uri),
        ("sha256", tpl.sha256),
        ("vnf-type", tpl.vnf_type),
        ("sharable", str(tpl.sharable).lower()),
    ):
        leaf(root, name, value)
    for i, port in enumerate(tpl.ports):
        el = etree.SubElement(root, f"{{{NT}}}port")
        leaf(el, "name", port)
        leaf(el, "index", i)
    for kind, name in tpl.dependencies:
        el = etree.SubElement(root, f"{{{NT}}}dependency")
        leaf(el, "kind", kind)
        leaf(el, "name", name)
    for event, script in tpl.scripts:
        el = etree.SubElement(root, f"{{{NT}}}lifecycle-management-script")
        leaf(el, "event", event)
        leaf(el, "script", script)
    if any(v is not None for v in (tpl.memory, tpl.memory_limit, tpl.cpu_weight, tpl.pids_limit)):
        el = etree.SubElement(root, f"{{{NT}}}resources")
        resources: tuple[tuple[str, int | None], ...] = (
            ("memory", tpl.memory),
            ("memory-limit", tpl.memory_limit),
            ("cpu-weight", tpl.cpu_weight),
            ("pids-limit", tpl.pids_limit),
        )
        for name, amount in resources:
            leaf(el, name, amount)
    for p in tpl.parameters:
        el = etree.SubElement(root, f"{{{NT}}}parameter")
        leaf(el, "name", p.name)
        leaf(el, "type", p.type)
        leaf(el, "default", p.default)
        leaf(el, "mandatory", str(p.mandatory).lower())
    xml = etree.tostring(root, encoding="unicode")
    return xml.replace(f' xmlns="{NT}"', "", 1)
