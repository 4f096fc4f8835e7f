# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Comparable forms of entries: unset options dropped, defaults filled in, values canonical."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.schema import Schema
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.values import NORMALISERS


class Canonical(Schema):
    """`clean` gives the form of before/after/gathered; `canonical` the form compared."""

    def clean(self, data, path=""):
        """Drop unset options, normalise values: the form of `before`, `after` and `gathered`."""
        spec = self.spec(path)
        out = {}
        for name, option in spec.items():
            value = data.get(name)
            sub = self.join(path, name)
            if value is None or (sub in self.empty and not value):
                continue
            kind = option.get("type", "str")
            if kind == "dict":
                value = self.clean(value, sub)
                if not value:
                    continue
            elif self.is_keyed_list(option):
                value = [self.clean(entry, sub) for entry in value]
            elif kind == "list":
                value = [self._normal(sub, v) for v in value]
            else:
                value = self._normal(sub, value)
            out[name] = value
        return out

    def _normal(self, path, value):
        normalise = NORMALISERS.get(self.value_types.get(path))
        return normalise(value) if normalise and isinstance(value, str) else value

    def canonical(self, data, path=""):
        """A comparable form: keyed lists become dicts, defaults are filled in."""
        spec = self.spec(path)
        out = {}
        for name, option in spec.items():
            sub = self.join(path, name)
            value = data.get(name)
            if value is None and sub in self.defaults:
                if not self._choice_taken(path, name, data):
                    value = self.defaults[sub]
            if value is None or (sub in self.empty and not value):
                continue
            kind = option.get("type", "str")
            if kind == "dict":
                value = self.canonical(value, sub)
            elif self.is_keyed_list(option):
                value = {self.key_value(sub, entry): self.canonical(entry, sub) for entry in value}
            elif kind == "list":
                value = [self._normal(sub, v) for v in value]
                if sub in self.unordered:
                    value = sorted(value, key=str)
            else:
                value = self._normal(sub, value)
            if value in ({}, []):
                continue
            out[name] = value
        return out

    def _choice_taken(self, path, name, data):
        """True if `name` sits in a choice whose other case is set (its default is moot)."""
        for case_list in self.choices.get(path, []):
            if name in case_list:
                others = [m for c in self.choices[path] if c is not case_list for m in c]
                return any(data.get(m) not in (None, False, []) for m in others)
        return False

    def same(self, a, b, path=""):
        return self.canonical(a, path) == self.canonical(b, path)
