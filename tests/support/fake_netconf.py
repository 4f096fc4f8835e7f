"""A fake NETCONF connection and AnsibleModule for the collection's unit tests: the device
sequence of the resource modules without a CPE."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.config.service_graph import (
    ServiceGraphs,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.device import Device

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def data(xml: str) -> str:
    return f'<data xmlns="{NC}">{xml}</data>'


class FakeConnection:
    def __init__(self, running: str, fail: dict[str, str] | None = None, status="deployed"):
        self.running = running
        self.fail = fail or {}
        self.status = status
        self.calls: list[str] = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            if name in self.fail:
                from ansible.module_utils.connection import ConnectionError

                raise ConnectionError(self.fail[name])
            if name in ("get_config", "get"):
                graph = self.running
                if name == "get":
                    graph = graph.replace(
                        "</graph>", f"<status><state>{self.status}</state></status></graph>"
                    )
                return data(graph)
            return f'<rpc-reply xmlns="{NC}"><ok/></rpc-reply>'

        return call


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = {
            "config": None,
            "running_config": None,
            "state": "merged",
            "confirm_timeout": 0,
            "confirm": True,
            "deploy_timeout": 1,
            **params,
        }
        self.check_mode = check_mode
        self._diff = True
        self.warnings: list[str] = []

    def warn(self, text):
        self.warnings.append(text)


def run(connection, **params):
    module = FakeModule(**params)
    rm = ServiceGraphs(module, device=Device(module, connection=connection))
    return rm.execute()
