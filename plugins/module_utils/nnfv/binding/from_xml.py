# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""XML to option dicts: what the device holds, read back in the form of the module's options."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.schema import Schema
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.values import NORMALISERS
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import local_name, namespace_of


class XmlReader(Schema):
    """Reads entries of the resource's list out of <data>, <config> or the container."""

    def entries_from_xml(self, root):
        """Option dicts of every entry found under `root` (<data>, <config> or the container)."""
        out = []
        for container in root.iter(f"{{{self.namespace}}}{self.container}"):
            for el in container:
                if local_name(el) == self.list_name and namespace_of(el) == self.namespace:
                    out.append(self._read(el, ""))
        return out

    def _read(self, el, path):
        spec = self.spec(path)
        by_yang = {self.yang(name): name for name in spec}
        data = {}
        for child in el:
            if not isinstance(child.tag, str) or namespace_of(child) != self.namespace:
                continue
            name = by_yang.get(local_name(child))
            if name is None:  # state data or nodes this collection does not know
                continue
            sub = self.join(path, name)
            option = spec[name]
            kind = option.get("type", "str")
            if kind == "dict":
                data[name] = self._read(child, sub)
            elif self.is_keyed_list(option):
                data.setdefault(name, []).append(self._read(child, sub))
            elif kind == "list":
                data.setdefault(name, []).append(
                    self._value(sub, option.get("elements", "str"), child.text)
                )
            elif sub in self.empty:
                data[name] = True
            else:
                data[name] = self._value(sub, kind, child.text)
        return data

    def _value(self, path, kind, text):
        text = (text or "").strip()
        if kind == "int":
            try:
                return int(text)
            except ValueError:
                return text
        if kind == "bool":
            return text == "true"
        normalise = NORMALISERS.get(self.value_types.get(path))
        return normalise(text) if normalise else text
