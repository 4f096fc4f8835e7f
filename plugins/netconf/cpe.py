# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402 (Ansible wants DOCUMENTATION before the imports)

from __future__ import annotations

DOCUMENTATION = """
author: nnfv maintainers (@nnfv)
name: cpe
short_description: NETCONF sub-plugin for nnfv CPEs (the nnfv-agent)
description:
  - Device plugin of the C(ansible.netcommon.netconf) connection for CPEs managed by
    C(nnfv-agent). Select it with C(ansible_network_os=nnfv.cpe.cpe).
  - Every NETCONF C(rpc-error) is passed to the module as the C(rpc-error) XML, so that
    modules can report its error-tag, error-path and error-message.
  - Adds the agent operations C(cancel-commit) and C(preview-commit) to the standard ones.
version_added: 0.1.0
options:
  ncclient_device_handler:
    type: str
    default: default
    description:
      - ncclient device handler; the agent speaks standard RFC 6241 NETCONF.
"""

import json
import re

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.ansible.netcommon.plugins.plugin_utils.netconf_base import (
    NetconfBase,
    ensure_ncclient,
)

try:
    from ncclient import manager
    from ncclient.operations import RPCError
    from ncclient.transport.errors import SSHUnknownHostError
    from ncclient.xml_ import to_ele, to_xml

    HAS_NCCLIENT = True
except ImportError:
    HAS_NCCLIENT = False

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
SG_NS = "urn:nnfv:yang:nnfv-service-graph"
AGENT_NS = "urn:nnfv:yang:nnfv-agent"
NETWORK_OS = "nnfv.cpe.cpe"
_MODULE_CAP = re.compile(r"^(?P<ns>[^?]+)\?module=(?P<name>[^&]+)(?:&revision=(?P<rev>[0-9-]+))?")


def rpc_error_text(exc):
    """The rpc-error elements of an ncclient RPCError, as one XML document."""
    errors = exc.errlist or [exc]
    body = "".join(to_xml(err.xml) for err in errors if err.xml is not None)
    body = re.sub(r"<\?xml[^>]*\?>", "", body)
    return f'<rpc-reply xmlns="{NC_NS}">{body}</rpc-reply>'


class NetconfRpcError(Exception):
    """An rpc-error reply; its text is the rpc-error XML, parsed by the modules."""


def _reply(resp):
    return resp.data_xml if hasattr(resp, "data_xml") else resp.xml


def passes_rpc_errors(func):
    """Turn an RPCError into an exception whose text is the rpc-error XML."""

    def wrapped(self, *args, **kwargs):
        try:
            return func(self, *args, **kwargs)
        except RPCError as exc:
            raise NetconfRpcError(rpc_error_text(exc)) from None

    wrapped.__name__ = func.__name__
    wrapped.__doc__ = func.__doc__
    return wrapped


class Netconf(NetconfBase):
    __rpc__ = [*NetconfBase.__rpc__, "cancel_commit", "preview_commit"]

    def get_device_info(self):
        info = {"network_os": NETWORK_OS, "network_os_platform": "nnfv-agent"}
        modules = modules_from_capabilities(self.m.server_capabilities)
        if "nnfv-service-graph" in modules:
            info["network_os_version"] = modules["nnfv-service-graph"]
        info["network_os_modules"] = modules
        return info

    def get_capabilities(self):
        result = {
            "rpc": self.get_base_rpc(),
            "network_api": "netconf",
            "device_info": self.get_device_info(),
            "server_capabilities": list(self.m.server_capabilities),
            "client_capabilities": list(self.m.client_capabilities),
            "session_id": self.m.session_id,
        }
        result["device_operations"] = self.get_device_operations(result["server_capabilities"])
        return json.dumps(result)

    @staticmethod
    @ensure_ncclient
    def guess_network_os(obj):
        """nnfv.cpe.cpe when the hello advertises the nnfv-service-graph module."""
        try:
            m = manager.connect(
                host=obj._play_context.remote_addr,
                port=obj._play_context.port or 830,
                username=obj._play_context.remote_user,
                password=obj._play_context.password,
                key_filename=obj.key_filename,
                hostkey_verify=obj.get_option("host_key_checking"),
                look_for_keys=obj.get_option("look_for_keys"),
                allow_agent=obj._play_context.allow_agent,
                timeout=obj.get_option("persistent_connect_timeout"),
                ssh_config=obj._ssh_config,
            )
        except SSHUnknownHostError as exc:
            raise AnsibleConnectionFailure(to_native(exc)) from exc
        try:
            return guess_from_capabilities(m.server_capabilities)
        finally:
            m.close_session()

    # ---- standard operations, with rpc-errors passed through as XML -------------------

    @passes_rpc_errors
    def get_config(self, source=None, filter=None):
        return super().get_config(source=source, filter=filter)

    @passes_rpc_errors
    def get(self, filter=None, with_defaults=None):
        return super().get(filter=filter, with_defaults=with_defaults)

    @passes_rpc_errors
    def edit_config(
        self,
        config=None,
        format="xml",
        target="candidate",
        default_operation=None,
        test_option=None,
        error_option=None,
    ):
        return super().edit_config(
            config=config,
            format=format,
            target=target,
            default_operation=default_operation,
            test_option=test_option,
            error_option=error_option,
        )

    @passes_rpc_errors
    def validate(self, source="candidate"):
        return super().validate(source=source)

    @passes_rpc_errors
    def lock(self, target="candidate"):
        return super().lock(target=target)

    @passes_rpc_errors
    def unlock(self, target="candidate"):
        return super().unlock(target=target)

    @passes_rpc_errors
    def discard_changes(self):
        return super().discard_changes()

    @passes_rpc_errors
    def commit(self, confirmed=False, timeout=None, persist=None):
        return super().commit(confirmed=confirmed, timeout=timeout, persist=persist)

    @passes_rpc_errors
    def dispatch(self, rpc_command=None, source=None, filter=None):
        return super().dispatch(rpc_command=rpc_command, source=source, filter=filter)

    # ---- agent operations ---------------------------------------------------------------

    @ensure_ncclient
    @passes_rpc_errors
    def cancel_commit(self, persist_id=None):
        """RFC 6241 cancel-commit: roll back a pending confirmed commit now."""
        persist = f"<persist-id>{persist_id}</persist-id>" if persist_id else ""
        xml = f'<cancel-commit xmlns="{NC_NS}">{persist}</cancel-commit>'
        return _reply(self.m.dispatch(to_ele(xml)))

    @ensure_ncclient
    @passes_rpc_errors
    def preview_commit(self):
        """nnfv-agent preview-commit: the plan a commit of the candidate would run."""
        return _reply(self.m.dispatch(to_ele(f'<preview-commit xmlns="{AGENT_NS}"/>')))


def modules_from_capabilities(capabilities):
    """{module name: revision} of the YANG modules a hello advertises."""
    modules = {}
    for cap in capabilities:
        match = _MODULE_CAP.match(cap)
        if match:
            modules[match.group("name")] = match.group("rev") or ""
    return modules


def guess_from_capabilities(capabilities):
    for cap in capabilities:
        if cap.startswith(SG_NS + "?module=nnfv-service-graph"):
            return NETWORK_OS
    return None
