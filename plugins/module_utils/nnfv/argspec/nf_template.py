# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument spec of nnfv.cpe.nf_template: /templates/template of nnfv-nnf-template, in YAML."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.common import (
    resource_options,
)

TEMPLATE_OPTIONS = {
    "name": {"type": "str", "required": True},
    "description": {"type": "str"},
    "functional_type": {"type": "str"},
    "uri": {"type": "str"},
    "sha256": {"type": "str"},
    "vnf_type": {"type": "str", "choices": ["native", "docker", "vm"]},
    "sharable": {"type": "bool"},
    "ports": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "index": {"type": "int"},
            "description": {"type": "str"},
        },
    },
    "dependencies": {
        "type": "list",
        "elements": "dict",
        "options": {
            "kind": {
                "type": "str",
                "required": True,
                "choices": ["package", "executable", "kernel-feature"],
            },
            "name": {"type": "str", "required": True},
        },
    },
    "lifecycle_management_scripts": {
        "type": "list",
        "elements": "dict",
        "options": {
            "event": {
                "type": "str",
                "required": True,
                "choices": ["start", "stop", "update", "status", "pause"],
            },
            "script": {"type": "str"},
        },
    },
    "resources": {
        "type": "dict",
        "options": {
            "memory": {"type": "int"},
            "memory_limit": {"type": "int"},
            "cpu_weight": {"type": "int"},
            "pids_limit": {"type": "int"},
        },
    },
    "parameters": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "type": {
                "type": "str",
                "choices": [
                    "string",
                    "integer",
                    "boolean",
                    "ipv4-address",
                    "ipv4-prefix",
                    "ipv6-address",
                    "ipv6-prefix",
                    "mac-address",
                    "port-list",
                ],
            },
            "default": {"type": "str"},
            "mandatory": {"type": "bool"},
            "description": {"type": "str"},
        },
    },
}

ARGUMENT_SPEC = resource_options(TEMPLATE_OPTIONS)
