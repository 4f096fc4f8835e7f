# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The schema part of a resource binding: its options, YANG names, keys and mandatory nodes.

Paths are dotted option names below one list entry, e.g. ``nfs.ports`` or
``flow_rules.match.source_ipv4``; the entry itself is the path ``""``.
"""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.values import dig, present


class Schema:
    """How one resource's options are laid out in its YANG list (no XML, no comparison)."""

    def __init__(
        self,
        *,
        namespace,
        container,
        list_name,
        label,
        options,
        keys,
        yang_names=None,
        defaults=None,
        choices=None,
        value_types=None,
        empty=(),
        unordered=(),
        sub_units=(),
        sub_labels=None,
        mandatory=None,
    ):
        self.namespace = namespace
        self.container = container
        self.list_name = list_name
        self.label = label
        self.options = options
        self.keys = keys  # {path: (key option, ...)}, "" is the top-level list
        self.yang_names = yang_names or {}
        self.defaults = defaults or {}  # {path.leaf: default}, compared as if present
        self.choices = choices or {}  # {path: [[case members], ...]}
        self.value_types = value_types or {}  # {path.leaf: "ip-prefix" | ...}
        self.empty = set(empty)  # YANG type empty, a bool in Ansible
        self.unordered = set(unordered)  # leaf-lists compared as sets
        self.sub_units = tuple(sub_units)  # child lists edited entry by entry
        self.sub_labels = sub_labels or {}
        # {path: [(option, ...), ...]}: below each present node at `path`, one option of each
        # tuple must be set (dotted names reach into containers, absent or not).
        self.mandatory = mandatory or {}

    # ---- schema walking -------------------------------------------------------------------

    @staticmethod
    def join(path, name):
        return f"{path}.{name}" if path else name

    def yang(self, name):
        return self.yang_names.get(name, name.replace("_", "-"))

    def spec(self, path):
        """The options dict of the node at `path` ("" is the list entry)."""
        options = self.options
        if path:
            for part in path.split("."):
                options = options[part]["options"]
        return options

    def key_of(self, path):
        return self.keys[path]

    def key_value(self, path, entry):
        values = tuple(entry.get(k) for k in self.key_of(path))
        return values[0] if len(values) == 1 else values

    @staticmethod
    def is_keyed_list(option):
        return option.get("type") == "list" and option.get("elements") == "dict"

    # ---- mandatory options ------------------------------------------------------------------

    def missing_mandatory(self, entries):
        """["config[name=g].flow_rules[id=r].priority", ...]: the mandatory YANG nodes the
        entries lack, as option paths, so that the module refuses them before any commit."""
        missing = []
        for entry in entries:
            key = ",".join(f"{k}={entry.get(k)}" for k in self.key_of(""))
            self._missing(entry, "", f"config[{key}]", missing)
        return missing

    def _missing(self, data, path, where, missing):
        for names in self.mandatory.get(path, ()):
            if not any(present(dig(data, name)) for name in names):
                what = names[0] if len(names) == 1 else "{" + "|".join(names) + "}"
                missing.append(f"{where}.{what}")
        for name, option in self.spec(path).items():
            value = data.get(name)
            sub = self.join(path, name)
            if self.is_keyed_list(option) and sub in self.keys:
                for item in value or []:
                    key = ",".join(f"{k}={item.get(k)}" for k in self.key_of(sub))
                    self._missing(item, sub, f"{where}.{name}[{key}]", missing)
            elif option.get("type") == "dict" and isinstance(value, dict):
                self._missing(value, sub, f"{where}.{name}", missing)
