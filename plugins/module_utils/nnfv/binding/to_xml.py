# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Option dicts to XML: the elements of an edit-config, keys first as YANG wants them."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.schema import Schema
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.values import NORMALISERS
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import (
    NC_NS,
    Element,
    SubElement,
    config_root,
)


class XmlWriter(Schema):
    """Renders entries (or parts of them) as XML elements of the resource's namespace."""

    def entry_element(self, entry, parent=None, operation=None):
        """The <graph> (or <template>) element of one entry."""
        tag = f"{{{self.namespace}}}{self.list_name}"
        el = Element(tag) if parent is None else SubElement(parent, tag)
        if operation:
            el.set(f"{{{NC_NS}}}operation", operation)
        self._fill(el, "", entry, keys_only=operation in ("remove", "delete"))
        return el

    def child_element(self, parent, path, entry, operation=None):
        """A list entry below a graph, e.g. <nf> for path "nfs"."""
        name = path.rsplit(".", 1)[-1]
        el = SubElement(parent, f"{{{self.namespace}}}{self.yang(name)}")
        if operation:
            el.set(f"{{{NC_NS}}}operation", operation)
        self._fill(el, path, entry, keys_only=operation in ("remove", "delete"))
        return el

    def _fill(self, el, path, data, keys_only=False):
        spec = self.spec(path)
        keys = self.keys.get(path, ())
        names = list(keys) + [n for n in spec if n not in keys]
        for name in names:
            if keys_only and name not in keys:
                continue
            value = data.get(name)
            if value is None:
                continue
            self._leaf_or_node(el, self.join(path, name), spec[name], value)

    def _leaf_or_node(self, parent, path, option, value):
        name = path.rsplit(".", 1)[-1]
        tag = f"{{{self.namespace}}}{self.yang(name)}"
        kind = option.get("type", "str")
        if kind == "dict":
            if value:
                self._fill(SubElement(parent, tag), path, value)
        elif self.is_keyed_list(option):
            for entry in value:
                self._fill(SubElement(parent, tag), path, entry)
        elif kind == "list":
            for item in value:
                SubElement(parent, tag).text = self._text(path, item)
        elif path in self.empty:
            if value:
                SubElement(parent, tag)
        else:
            SubElement(parent, tag).text = self._text(path, value)

    def _text(self, path, value):
        if isinstance(value, bool):
            return "true" if value else "false"
        normalise = NORMALISERS.get(self.value_types.get(path))
        return str(normalise(value) if normalise else value)

    def container_element(self, parent):
        tag = f"{{{self.namespace}}}{self.container}"
        return SubElement(parent, tag, nsmap={None: self.namespace})

    def config_element(self, entries, operation=None):
        """<config><graphs>entries</graphs></config> as sent by edit-config."""
        config = config_root()
        container = self.container_element(config)
        for entry in entries:
            self.entry_element(entry, container, operation)
        return config
