# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Option values: where a dotted option path leads, and the canonical form of typed values.

libyang stores canonical values; comparing the canonical forms keeps a device's "10.0.0.1/24"
equal to a playbook's "10.0.0.0/24".
"""

from __future__ import annotations

import ipaddress


def dig(data, dotted):
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def present(value):
    return value is not None and value != [] and value is not False


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
