# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The YANG binding of a resource: Ansible options <-> XML, normalisation, states and diffs.

One `Model` describes one top-level YANG list (``/graphs/graph``, ``/templates/template``)
through the module's own argument spec plus a few annotations (YANG names that are not the
option name with ``_`` -> ``-``, list keys, defaults, choices, value normalisers). Everything
here is pure: no device, no AnsibleModule. The same code renders the edit-config XML, parses
device XML back into option dicts, and computes the path-level diff, so the three can never
disagree.
"""

from __future__ import annotations

import copy
import ipaddress

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import (
    NC_NS,
    Element,
    SubElement,
    config_root,
    local_name,
    namespace_of,
)

STATES_WRITING = ("merged", "replaced", "overridden", "deleted")


def _dig(data, dotted):
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _present(value):
    return value is not None and value != [] and value is not False


# ---- value normalisers (what libyang stores is canonical; we compare canonical values) ----


def ip_prefix(value):
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        return value


def ip_address(value):
    try:
        return ipaddress.ip_address(str(value)).compressed
    except ValueError:
        return value


def mac_address(value):
    return str(value).lower()


NORMALISERS = {"ip-prefix": ip_prefix, "ip-address": ip_address, "mac-address": mac_address}


class Model:
    """How one resource's option dicts map to a YANG list and back.

    Paths are dotted option names below one list entry, e.g. ``nfs.ports`` or
    ``flow_rules.match.source_ipv4``; the entry itself is the path ``""``.
    """

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
            if not any(_present(_dig(data, name)) for name in names):
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

    # ---- dict -> XML ------------------------------------------------------------------------

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

    # ---- XML -> dict ------------------------------------------------------------------------

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

    # ---- normalisation ------------------------------------------------------------------------

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

    # ---- states -------------------------------------------------------------------------------

    def index(self, entries, path=""):
        return {self.key_value(path, e): e for e in entries}

    def merge(self, have, want, path=""):
        """`want` merged onto `have`: set options win, lists merge by key, leaf-lists replace."""
        out = copy.deepcopy(have)
        for case_list in self.choices.get(path, []):
            if any(want.get(m) not in (None, False, []) for m in case_list):
                for other in self.choices[path]:
                    if other is not case_list:
                        for member in other:
                            out.pop(member, None)
        spec = self.spec(path)
        for name, value in want.items():
            if value is None or name not in spec:
                continue
            sub = self.join(path, name)
            option = spec[name]
            if option.get("type") == "dict" and isinstance(out.get(name), dict):
                out[name] = self.merge(out[name], value, sub)
            elif self.is_keyed_list(option) and out.get(name):
                merged = self.index(out[name], sub)
                for entry in value:
                    key = self.key_value(sub, entry)
                    merged[key] = self.merge(merged[key], entry, sub) if key in merged else entry
                out[name] = list(merged.values())
            else:
                out[name] = copy.deepcopy(value)
        return out

    def target(self, state, have, want):
        """The entries the device should hold after `state` is applied with `want`."""
        current = self.index(have)
        if state == "overridden":
            return list(want)
        if state in ("merged", "replaced"):
            result = dict(current)
            for entry in want:
                key = self.key_value("", entry)
                if state == "merged" and key in current:
                    result[key] = self.merge(current[key], entry)
                else:
                    result[key] = entry
            return list(result.values())
        if state == "deleted":
            if not want:
                return []
            result = dict(current)
            for entry in want:
                key = self.key_value("", entry)
                if key not in result:
                    continue
                subs = {n: entry[n] for n in self.sub_units if entry.get(n)}
                if not subs:
                    del result[key]
                    continue
                kept = copy.deepcopy(result[key])
                for name, gone in subs.items():
                    drop = {self.key_value(name, e) for e in gone}
                    kept[name] = [
                        e for e in kept.get(name, []) if self.key_value(name, e) not in drop
                    ]
                result[key] = kept
            return list(result.values())
        raise ValueError(f"state {state} does not change the device")

    # ---- diff: path-level changes and the minimal edit ----------------------------------------

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
