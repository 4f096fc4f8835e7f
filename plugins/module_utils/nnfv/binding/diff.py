# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The path-level diff between two sets of entries, the minimal edit that applies it, and
its text for diff mode."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.canonical import Canonical
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.states import States
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.to_xml import XmlWriter
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import (
    NC_NS,
    SubElement,
    config_root,
)


class Diff(XmlWriter, Canonical, States):
    """What changes between `have` and a target, and the edit-config XML that makes it so."""

    def entry_path(self, key):
        return f"{self.label}[{key}]"

    def diff(self, have, target):
        """(changes, config element or None) that turn `have` into `target`.

        Each change is {"path", "change": added|removed|changed, "fields": [...]}. The edit
        touches only what differs: removed entries get operation="remove", new or changed
        sub-units (NFs, endpoints, rules) are replaced one by one, and changed leaves of an
        entry are merged.
        """
        changes = []
        config = config_root()
        container = self.container_element(config)
        old, new = self.index(have), self.index(target)
        for key, entry in old.items():
            if key not in new:
                changes.append({"path": self.entry_path(key), "change": "removed", "fields": []})
                self.entry_element(entry, container, "remove")
        for key, entry in new.items():
            path = self.entry_path(key)
            if key not in old:
                changes.append({"path": path, "change": "added", "fields": []})
                self.entry_element(entry, container, "replace")
            elif not self.same(old[key], entry):
                if self.sub_units:
                    changes += self._diff_units(container, path, old[key], entry)
                else:
                    fields = self.field_changes(old[key], entry)
                    changes.append({"path": path, "change": "changed", "fields": fields})
                    self.entry_element(entry, container, "replace")
        return changes, (config if changes else None)

    def _diff_units(self, container, path, old, new):
        changes = []
        el = self.entry_element({k: new[k] for k in self.key_of("")}, container)
        own_old = {k: v for k, v in old.items() if k not in self.sub_units}
        own_new = {k: v for k, v in new.items() if k not in self.sub_units}
        if not self.same(own_old, own_new):
            fields = self.field_changes(own_old, own_new)
            changes.append({"path": path, "change": "changed", "fields": fields})
            spec = self.spec("")
            for name in spec:
                if name in self.sub_units or name in self.key_of(""):
                    continue
                if self.canonical({name: old.get(name)}).get(name) == self.canonical(
                    {name: new.get(name)}
                ).get(name):
                    continue
                if new.get(name) is None:
                    gone = SubElement(el, f"{{{self.namespace}}}{self.yang(name)}")
                    gone.set(f"{{{NC_NS}}}operation", "remove")
                else:
                    self._leaf_or_node(el, name, spec[name], new[name])
        for unit in self.sub_units:
            label = self.sub_labels.get(unit, self.yang(unit))
            was = self.index(old.get(unit) or [], unit)
            now = self.index(new.get(unit) or [], unit)
            for key, entry in was.items():
                if key not in now:
                    changes.append(
                        {"path": f"{path}/{label}[{key}]", "change": "removed", "fields": []}
                    )
                    self.child_element(el, unit, entry, "remove")
            for key, entry in now.items():
                if key not in was:
                    changes.append(
                        {"path": f"{path}/{label}[{key}]", "change": "added", "fields": []}
                    )
                    self.child_element(el, unit, entry, "replace")
                elif not self.same(was[key], entry, unit):
                    changes.append(
                        {
                            "path": f"{path}/{label}[{key}]",
                            "change": "changed",
                            "fields": self.field_changes(was[key], entry, unit),
                        }
                    )
                    self.child_element(el, unit, entry, "replace")
        return changes

    def field_changes(self, old, new, path=""):
        """["option.path: before -> after", ...] between two entries (defaults applied)."""
        a = self.flatten(self.canonical(old, path), path)
        b = self.flatten(self.canonical(new, path), path)
        out = []
        for name in sorted(set(a) | set(b)):
            was, now = a.get(name), b.get(name)
            if was is _ENTRY or now is _ENTRY:
                if (was is _ENTRY) != (now is _ENTRY):
                    out.append(f"{name}: {'added' if now is _ENTRY else 'removed'}")
            elif was != now:
                out.append(f"{name}: {_show(was)} -> {_show(now)}")
        return out

    def flatten(self, canon, path="", prefix=""):
        flat = {}
        spec = self.spec(path)
        for name, value in canon.items():
            sub = self.join(path, name)
            label = f"{prefix}{name}"
            option = spec.get(name, {})
            if option.get("type") == "dict":
                flat.update(self.flatten(value, sub, label + "."))
            elif self.is_keyed_list(option):
                for key, entry in value.items():
                    shown = key if not isinstance(key, tuple) else ",".join(map(str, key))
                    keys = self.key_of(sub)
                    body = {k: v for k, v in entry.items() if k not in keys}
                    flat[f"{label}[{shown}]"] = _ENTRY
                    flat.update(self.flatten(body, sub, f"{label}[{shown}]."))
            else:
                flat[label] = value
        return flat


_ENTRY = object()  # marks a keyed list entry in a flattened entry


def _show(value):
    if value is None:
        return "(absent)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, str):
        return repr(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def render_changes(changes):
    """The text of diff mode's `prepared`: one line per path, details indented."""
    marks = {"added": "+", "removed": "-", "changed": "~"}
    lines = []
    for change in changes:
        lines.append(f"{marks[change['change']]} {change['path']} ({change['change']})")
        lines += [f"    {field}" for field in change["fields"]]
    return "\n".join(lines) + ("\n" if lines else "")
