# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""XML helpers: a parser that resolves no entities, loads no DTD and reads no network."""

from __future__ import annotations

try:
    from lxml import etree

    HAS_LXML = True
    LXML_IMPORT_ERROR = None
except ImportError as exc:  # the module reports it with missing_required_lib
    etree = None
    HAS_LXML = False
    LXML_IMPORT_ERROR = exc

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
SG_NS = "urn:nnfv:yang:nnfv-service-graph"
NT_NS = "urn:nnfv:yang:nnfv-nnf-template"
NODE_NS = "urn:nnfv:yang:nnfv-node"
AGENT_NS = "urn:nnfv:yang:nnfv-agent"
NSMAP = {"nc": NC_NS, "nfg": SG_NS, "nnft": NT_NS, "node": NODE_NS, "nnfva": AGENT_NS}


def _parser():
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
    )


def parse(text):
    """Parse XML text (str or bytes) safely; an XML declaration is allowed."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return etree.fromstring(text.strip(), _parser())


def Element(tag, nsmap=None):  # noqa: N802 - the lxml name it stands in for
    return etree.Element(tag, nsmap=nsmap)


def SubElement(parent, tag, nsmap=None):  # noqa: N802 - the lxml name it stands in for
    return etree.SubElement(parent, tag, nsmap=nsmap)


def config_root():
    """An empty edit-config <config>; nc: is declared for the operation attributes."""
    return etree.Element(f"{{{NC_NS}}}config", nsmap={None: NC_NS, "nc": NC_NS})


def tostring(el, pretty=False):
    return etree.tostring(el, encoding="unicode", pretty_print=pretty)


def local_name(el):
    return etree.QName(el).localname


def namespace_of(el):
    return etree.QName(el).namespace


def find(el, path):
    """lxml find() with the nnfv prefixes (nfg:, nnft:, node:, nc:)."""
    return el.find(path, NSMAP)


def findall(el, path):
    return el.findall(path, NSMAP)


def text_of(el, path, default=None):
    found = el.find(path, NSMAP)
    if found is None or found.text is None:
        return default
    return found.text.strip()
