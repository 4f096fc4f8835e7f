"""The shipped NNF templates as the tests see them: a descriptor and a directory of scripts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import nnfv_agent

SOURCE_DIR = Path(nnfv_agent.__file__).parent / "nnf_templates"
XMLNS = "{urn:nnfv:yang:nnfv-nnf-template}"


def env_name(name: str) -> str:
    """`allow-tcp-ports` -> `ALLOW_TCP_PORTS` (upper case, non-alphanumerics as `_`)."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class Template:
    """A shipped template: its descriptor (template.xml) and its directory."""

    env_name = staticmethod(env_name)

    def __init__(self, name: str, base: Path = SOURCE_DIR) -> None:
        self.name = name
        self.dir = base / name
        self.xml_path = self.dir / "template.xml"
        root = ET.parse(self.xml_path).getroot()
        self.root = root.find(f"{XMLNS}template")
        assert self.root is not None, f"{self.xml_path}: no <template>"
        ports = sorted(
            (int(p.findtext(f"{XMLNS}index")), p.findtext(f"{XMLNS}name"))
            for p in self.root.findall(f"{XMLNS}port")
        )
        self.ports: list[str] = [name for _, name in ports]
        self.scripts: dict[str, Path] = {
            s.findtext(f"{XMLNS}event"): self.dir / s.findtext(f"{XMLNS}script")
            for s in self.root.findall(f"{XMLNS}lifecycle-management-script")
        }
        self.params: dict[str, str | None] = {
            p.findtext(f"{XMLNS}name"): p.findtext(f"{XMLNS}default")
            for p in self.root.findall(f"{XMLNS}parameter")
        }

    def text(self, tag: str) -> str | None:
        return self.root.findtext(f"{XMLNS}{tag}")
