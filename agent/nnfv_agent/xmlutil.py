"""XML for the whole agent: the namespaces of the modules it speaks, a hardened parser for
everything that arrives from the network or from disk, and small element helpers."""

from __future__ import annotations

from lxml import etree

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NCM = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
WD = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
YANGLIB = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
NCDS = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
NNFVA = "urn:nnfv:yang:nnfv-agent"

# No entities, no DTD, no network: a NETCONF peer never needs them, and each is an attack surface.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    load_dtd=False,
    no_network=True,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=True,
    remove_comments=True,
    remove_pis=True,
)


class MalformedXml(ValueError):
    """Raised when a message is not well-formed or uses forbidden XML features."""


def parse(data: bytes | str) -> etree._Element:
    if isinstance(data, str):
        data = data.encode()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedXml("NETCONF messages must be UTF-8 encoded (RFC 6241 section 3)") from None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise MalformedXml("DOCTYPE and entity declarations are not allowed")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(str(exc)) from None
    if root is None:
        raise MalformedXml("empty document")
    if root.getroottree().docinfo.doctype:
        raise MalformedXml("DOCTYPE declarations are not allowed")
    declared = root.getroottree().docinfo.encoding
    if declared and declared.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
        raise MalformedXml(
            f"NETCONF messages must be UTF-8 encoded (RFC 6241 section 3), not {declared}"
        )
    return root


def qn(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def ns_of(el: etree._Element) -> str | None:
    return etree.QName(el).namespace


def tostring(el: etree._Element) -> str:
    return etree.tostring(el, encoding="unicode")


def child(el: etree._Element, name: str, ns: str = NC) -> etree._Element | None:
    return el.find(qn(ns, name))


def child_text(el: etree._Element, name: str, ns: str = NC) -> str | None:
    found = el.find(qn(ns, name))
    if found is None:
        return None
    return (found.text or "").strip()


def reply_element(attrs: dict[str, str], prefixes: dict[str, str] | None = None) -> etree._Element:
    """An empty <rpc-reply> echoing the attributes of its <rpc>, declaring `prefixes` (those
    that the text of an error-path uses: lxml drops a declaration of the default namespace
    under another prefix when an element moves into the reply, so they must be on the root)."""
    nsmap: dict[str | None, str] = {None: NC}
    nsmap.update(prefixes or {})
    reply = etree.Element(qn(NC, "rpc-reply"), nsmap=nsmap)
    for key, value in attrs.items():
        reply.set(key, value)
    return reply


def event_xml(ns: str, name: str, **leaves: str | None) -> str:
    """A notification's content: element `name` of module `ns` with one leaf per keyword
    (underscores become hyphens; None leaves are left out)."""
    root = etree.Element(qn(ns, name), nsmap={None: ns})
    for key, value in leaves.items():
        if value is not None:
            etree.SubElement(root, qn(ns, key.replace("_", "-"))).text = value
    return etree.tostring(root, encoding="unicode")


def identity(el: etree._Element) -> tuple[str | None, str]:
    """An identityref value: (namespace of its prefix in scope, identity name)."""
    text = (el.text or "").strip()
    prefix, _, name = text.rpartition(":")
    return el.nsmap.get(prefix or None), name
