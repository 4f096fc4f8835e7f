# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 (Ansible wants DOCUMENTATION before the imports)

from __future__ import annotations

DOCUMENTATION = r"""
name: agent_password_hash
short_description: Hash a password for the users of nnfv-agent's configuration file
version_added: 0.1.0
author:
  - nnfv maintainers (@nnfv)
description:
  - Returns C(pbkdf2-sha256$<iterations>$<salt>$<digest>), the format of
    C(nnfv-agent --hash-password).
  - The salt is derived from O(salt_seed), so the same inputs give the same hash and a role
    that writes it stays idempotent. Use a seed unique per host and user.
options:
  _input:
    description: The password.
    type: str
    required: true
  salt_seed:
    description: Text the 16-byte salt is derived from (for example host and user name).
    type: str
    required: true
  iterations:
    description: PBKDF2 iterations.
    type: int
    default: 200000
"""

EXAMPLES = r"""
- name: A user entry of agent.toml
  ansible.builtin.debug:
    msg: "{{ 'secret' | nnfv.cpe.agent_password_hash(salt_seed=inventory_hostname ~ ':admin') }}"
"""

RETURN = r"""
_value:
  description: The password hash.
  type: str
"""

import base64
import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes


def agent_password_hash(password, salt_seed=None, iterations=200000):
    if not salt_seed:
        raise AnsibleFilterError("agent_password_hash needs a salt_seed")
    salt = hashlib.sha256(b"nnfv-agent salt:" + to_bytes(salt_seed)).digest()[:16]
    digest = hashlib.pbkdf2_hmac("sha256", to_bytes(password), salt, int(iterations))
    return "$".join(
        [
            "pbkdf2-sha256",
            str(int(iterations)),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


class FilterModule:
    def filters(self):
        return {"agent_password_hash": agent_password_hash}
