# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options shared by the resource modules: state, parsed input and the safe push."""

from __future__ import annotations

STATES = ["merged", "replaced", "overridden", "deleted", "gathered", "rendered", "parsed"]


def resource_options(config_options):
    return {
        "config": {"type": "list", "elements": "dict", "options": config_options},
        "running_config": {"type": "str"},
        "state": {"type": "str", "choices": STATES, "default": "merged"},
        "confirm_timeout": {"type": "int", "default": 0},
        "confirm": {"type": "bool", "default": True},
        "deploy_timeout": {"type": "int", "default": 30},
    }


REQUIRED_IF = [
    ["state", "merged", ["config"]],
    ["state", "replaced", ["config"]],
    ["state", "overridden", ["config"]],
    ["state", "rendered", ["config"]],
    ["state", "parsed", ["running_config"]],
]
