# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where device and input failures become task failures.

The cpe netconf plugin passes every rpc-error as its XML; `from_connection_error` turns it
into an `RpcFailure` that names the operation, the error-tag, the path (as the device wrote it
and as module options) and the agent's message.
"""

from __future__ import annotations

import re

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import NC_NS, parse

_STEP = re.compile(r"^(?:[\w.-]+:)?(?P<name>[\w.-]+)(?P<preds>(?:\[[^\]]*\])*)$")
_PRED = re.compile(r"\[(?:[\w.-]+:)?(?P<key>[\w.-]+)\s*=\s*(?P<q>['\"])(?P<value>.*?)(?P=q)\]")
# The top containers of the resource modules' lists (their `config` option).
_TOPS = ("graphs", "templates")
_PLURAL = {
    "nf": "nfs",
    "endpoint": "endpoints",
    "flow-rule": "flow_rules",
    "port": "ports",
    "config-parameter": "config_parameters",
    "dependency": "dependencies",
    "lifecycle-management-script": "lifecycle_management_scripts",
    "parameter": "parameters",
}


class NnfvError(Exception):
    """A failure the module reports as it is (message plus structured details)."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def result(self):
        return dict(msg=self.message, **self.details)


class RpcFailure(NnfvError):
    def __init__(self, operation, errors):
        self.operation = operation
        self.errors = errors
        first = errors[0] if errors else {}
        lines = [describe(e) for e in errors] or ["no rpc-error details"]
        message = f"{operation} failed: " + "; ".join(lines)
        super().__init__(
            message,
            rpc_error=first,
            rpc_errors=errors,
            error_tag=first.get("error_tag"),
            error_path=first.get("error_path"),
        )


def describe(error):
    text = error.get("error_tag") or "error"
    if error.get("error_app_tag"):
        text += f" ({error['error_app_tag']})"
    if error.get("error_path"):
        text += f" at {error['error_path']}"
        if error.get("option_path"):
            text += f" [option {error['option_path']}]"
    return f"{text}: {error.get('error_message') or 'no message'}"


def parse_rpc_errors(text):
    """[{error_type, error_tag, error_severity, error_app_tag, error_path, error_message,
    option_path, error_info}] from a reply or a bare rpc-error; [] if `text` holds none."""
    if "rpc-error" not in text:
        return []
    start = text.find("<")
    try:
        root = parse(text[start:])
    except Exception:  # noqa: BLE001 (not XML: the caller reports the raw text)
        return []
    found = [root] if root.tag == f"{{{NC_NS}}}rpc-error" else []
    found += root.iter(f"{{{NC_NS}}}rpc-error")
    out = []
    for err in found:
        item = {}
        for child in err:
            if not isinstance(child.tag, str):
                continue
            name = child.tag.rsplit("}", 1)[-1].replace("-", "_")
            if name == "error_info":
                item[name] = {
                    c.tag.rsplit("}", 1)[-1]: (c.text or "").strip()
                    for c in child
                    if isinstance(c.tag, str)
                }
            else:
                item[name] = (child.text or "").strip()
        if item.get("error_path"):
            item["option_path"] = option_path(item["error_path"])
        out.append(item)
    return out


def option_path(xpath):
    """/nfg:graphs/nfg:graph[nfg:name='b']/nfg:flow-rule[nfg:id='r']/nfg:match/nfg:port-in
    -> config[name=b].flow_rules[id=r].match.port_in

    None for a path outside the modules' data (such as /nc:rpc/nc:lock, the protocol
    operation an access-denied error names, or /nacm:nacm/...)."""
    steps = [s for s in _split(xpath) if s]
    if len(steps) < 2:
        return None
    top = _STEP.match(steps[0])
    if not top or top.group("name") not in _TOPS:
        return None
    out = ["config"]
    for step in steps[1:]:
        match = _STEP.match(step)
        if not match:
            return None
        name = match.group("name")
        preds = ",".join(
            f"{p.group('key').replace('-', '_')}={p.group('value')}"
            for p in _PRED.finditer(match.group("preds"))
        )
        if steps.index(step) == 1:
            out[0] = f"config[{preds}]" if preds else "config"
            continue
        name = _PLURAL.get(name, name).replace("-", "_")
        out.append(f"{name}[{preds}]" if preds else name)
    return ".".join(out)


def _split(xpath):
    """Split on '/' outside predicates."""
    parts, depth, cur = [], 0, ""
    for ch in xpath:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "/" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def from_connection_error(operation, exc):
    """An RpcFailure for an rpc-error, else an NnfvError with the connection's message."""
    text = str(exc)
    errors = parse_rpc_errors(text)
    if errors:
        return RpcFailure(operation, errors)
    return NnfvError(f"{operation} failed: {text.strip() or type(exc).__name__}")
