# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The NETCONF operations the modules issue, over ansible.netcommon's persistent connection.

Each call goes to the connection's sub-plugin (plugins/netconf/cpe.py), which sends one RPC.
Every RPC is recorded in `rpcs` so that a task can report how many it needed (ncclient adds up
to 100 ms to each one), and every failure becomes an `RpcFailure` here and nowhere else.
"""

from __future__ import annotations

import time

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.connection import ConnectionError as AnsibleConnectionError
from ansible_collections.ansible.netcommon.plugins.module_utils.network.common.netconf import (
    NetconfConnection,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.errors import (
    from_connection_error,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import (
    AGENT_NS,
    NC_NS,
    findall,
    parse,
    text_of,
    tostring,
)


class _RawNetconfConnection(NetconfConnection):
    """netcommon's NetconfConnection, returning the reply text for our safe parser."""

    def __rpc__(self, name, *args, **kwargs):
        response = self._exec_jsonrpc(name, *args, **kwargs)
        if "error" in response:
            err = response["error"]
            raise AnsibleConnectionError(
                to_text(err.get("data") or err.get("message"), errors="surrogate_then_replace"),
                code=err.get("code"),
            )
        return response["result"]


def subtree_filter(*criteria):
    """A <filter> holding one or several subtree criteria (XML strings)."""
    return f'<filter xmlns="{NC_NS}" type="subtree">{"".join(criteria)}</filter>'


class Device:
    def __init__(self, module, connection=None):
        self.connection = connection or _RawNetconfConnection(module._socket_path)
        self.rpcs = []
        self.seconds = 0.0

    def _call(self, operation, method, *args, **kwargs):
        self.rpcs.append(operation)
        started = time.monotonic()
        try:
            return getattr(self.connection, method)(*args, **kwargs)
        except AnsibleConnectionError as exc:
            raise from_connection_error(operation, exc) from None
        finally:
            self.seconds += time.monotonic() - started

    def get_config(self, source, *criteria):
        criteria = subtree_filter(*criteria)
        text = self._call("get-config", "get_config", source=source, filter=criteria)
        return parse(text)

    def get(self, *criteria):
        return parse(self._call("get", "get", filter=subtree_filter(*criteria)))

    def lock(self):
        self._call("lock", "lock", target="candidate")

    def unlock(self):
        self._call("unlock", "unlock", target="candidate")

    def edit_config(self, config):
        self._call("edit-config", "edit_config", config=tostring(config), target="candidate")

    def commit(self, confirm_timeout=0):
        if confirm_timeout:
            self._call("commit", "commit", confirmed=True, timeout=str(confirm_timeout))
        else:
            self._call("commit", "commit")

    def cancel_commit(self):
        self._call("cancel-commit", "cancel_commit")

    def discard_changes(self):
        self._call("discard-changes", "discard_changes")

    def preview_commit(self):
        """The agent's plan for committing the candidate: ["createNF g/fw", ...]."""
        text = self._call("preview-commit", "preview_commit")
        root = parse(text)
        return [
            f"{text_of(op, 'nnfva:name')} {text_of(op, 'nnfva:target')}"
            for op in findall(root, ".//nnfva:operation")
        ]

    def capabilities(self):
        return self.connection.get_capabilities()


__all__ = ["AGENT_NS", "Device", "subtree_filter"]
