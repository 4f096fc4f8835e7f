# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Device XML -> normalised dicts for /templates (nnfv-nnf-template)."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.nf_template import (
    TEMPLATE_OPTIONS,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.model import Model
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import NT_NS

TEMPLATES = Model(
    namespace=NT_NS,
    container="templates",
    list_name="template",
    label="template",
    options=TEMPLATE_OPTIONS,
    keys={
        "": ("name",),
        "ports": ("name",),
        "dependencies": ("kind", "name"),
        "lifecycle_management_scripts": ("event",),
        "parameters": ("name",),
    },
    yang_names={
        "ports": "port",
        "dependencies": "dependency",
        "lifecycle_management_scripts": "lifecycle-management-script",
        "parameters": "parameter",
    },
    mandatory={
        "": [("functional_type",), ("uri",), ("sha256",)],
        "ports": [("index",)],
        "lifecycle_management_scripts": [("script",)],
    },
    defaults={
        "vnf_type": "native",
        "sharable": False,
        "parameters.type": "string",
        "parameters.mandatory": False,
    },
)

CONFIG_FILTER = f'<templates xmlns="{NT_NS}"/>'
