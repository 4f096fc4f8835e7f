"""From a libyang error to an AgentError: the NETCONF error kind, app-tag and info it stands
for, and its path as an RFC 6241 error-path (every step prefixed, the prefixes declared).

Pure: text in, text out; the libyang context that produced the error is not needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from _libyang import lib

from ..errors import AgentError, Kind

_LOCATION = re.compile(r'(?:Data|Schema) location "([^"]*)"')


@dataclass
class YangIssue:
    message: str
    path: str | None
    vecode: int
    app_tag: str | None


def as_agent_error(
    issue: YangIssue, prefixes: dict[str, str], namespaces: dict[str, str]
) -> AgentError:
    """The error a client is told for `issue`; `prefixes` and `namespaces` are per module."""
    tag, app_tag, info = _classify(issue)
    path, nsmap = qualify_path(issue.path, prefixes, namespaces) if issue.path else (None, {})
    return AgentError(
        issue.message, kind=Kind(tag), path=path, path_nsmap=nsmap, app_tag=app_tag, info=info
    )


def data_location(text: str) -> str:
    found = _LOCATION.search(text)
    return found.group(1) if found else text


def _classify(issue: YangIssue) -> tuple[str, str | None, dict[str, str]]:
    msg = issue.message
    if issue.app_tag == "instance-required":
        return "data-missing", issue.app_tag, {}
    if issue.app_tag == "missing-choice":
        return "data-missing", issue.app_tag, {}
    if issue.app_tag in ("too-many-elements", "too-few-elements", "data-not-unique"):
        return "operation-failed", issue.app_tag, {}
    if "must" in msg.lower() or issue.app_tag == "must-violation":
        return "operation-failed", issue.app_tag or "must-violation", {}
    if issue.app_tag:
        return "operation-failed", issue.app_tag, {}
    name = _quoted(msg)
    if "missing its key" in msg or msg.startswith("Mandatory node"):
        return "missing-element", None, {"bad-element": name} if name else {}
    if "No module with namespace" in msg:
        ns = _quoted(msg)
        return "unknown-namespace", None, {"bad-element": "config", "bad-namespace": ns or ""}
    if "not found as a child" in msg or issue.vecode == lib.LYVE_REFERENCE:
        return "unknown-element", None, {"bad-element": name} if name else {}
    if "Duplicate instance" in msg:
        return "data-exists", None, {}
    return "invalid-value", None, {}


def _quoted(msg: str) -> str | None:
    found = re.search(r'"([^"]*)"', msg)
    return found.group(1) if found else None


_STEP = re.compile(
    r"/(?:(?P<mod>[A-Za-z_][\w.-]*):)?(?P<name>[A-Za-z_][\w.-]*)(?P<preds>(?:\[[^\]]*\])*)"
)
_PRED_KEY = re.compile(r"\[(?:(?P<mod>[A-Za-z_][\w.-]*):)?(?P<name>[A-Za-z_][\w.-]*)=")


def qualify_path(
    ly_path: str, prefixes: dict[str, str], namespaces: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """Prefix every step with its module's YANG prefix, and return the prefixes used."""
    out = []
    nsmap: dict[str, str] = {}
    current = None
    for step in _STEP.finditer(ly_path):
        current = step.group("mod") or current
        prefix = prefixes.get(current or "", current or "")
        if current in namespaces:
            nsmap[prefix] = namespaces[current]
        preds = _PRED_KEY.sub(f"[{prefix}:\\g<name>=", step.group("preds"))
        out.append(f"/{prefix}:{step.group('name')}{preds}")
    return ("".join(out) or ly_path), nsmap
