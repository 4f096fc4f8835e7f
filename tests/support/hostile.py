"""Helpers for tests that behave like hostile or slow NETCONF clients."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from .clients import RawClient

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NFG = "urn:nnfv:yang:nnfv-service-graph"


def wait_until(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll `check` until it is true or `timeout` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def log_has(log: Path, text: str, timeout: float = 10.0) -> bool:
    return bool(wait_until(lambda: text in log.read_text(), timeout))


def subscribe(raw: RawClient, filter_xml: str = "") -> str:
    """Send create-subscription; return the reply."""
    return raw.rpc(f'<create-subscription xmlns="{NOTIF}">{filter_xml}</create-subscription>')


def next_notification(raw: RawClient) -> etree._Element:
    message = etree.fromstring(raw.recv().encode())
    assert message.tag == f"{{{NOTIF}}}notification", etree.tostring(message)
    return message


def edit_description(raw: RawClient, graph: str, text: str) -> str:
    """One edit of running (so one netconf-config-change)."""
    return raw.rpc(
        "<edit-config><target><running/></target>"
        f'<config><graphs xmlns="{NFG}"><graph><name>{graph}</name>'
        f"<description>{text}</description></graph></graphs></config></edit-config>"
    )
