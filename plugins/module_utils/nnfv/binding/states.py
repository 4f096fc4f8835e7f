# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resource-module states: the entries a device should hold after merged, replaced,
overridden or deleted."""

from __future__ import annotations

import copy

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.binding.schema import Schema

STATES_WRITING = ("merged", "replaced", "overridden", "deleted")


class States(Schema):
    """Merges wanted entries onto what the device has, per state."""

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
