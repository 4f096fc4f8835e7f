# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared engine of the nnfv resource modules (service_graph, nf_template).

A resource module only says which `Model` it edits and how to tell that a commit worked;
this base runs the states:

- gathered: get-config (1 RPC);
- rendered / parsed: no device at all;
- merged / replaced / overridden / deleted: get-config, then, only if the comparison of the
  normalised running config with the target finds a difference: lock, edit-config (the
  minimal edit), commit (confirmed when confirm_timeout > 0), get (after and status),
  the confirming commit, unlock;
- check mode: lock, edit-config, get-config candidate (the predicted after), preview-commit
  (the agent's full validation and plan), discard-changes, unlock. Never a commit.
"""

from __future__ import annotations

import time

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.device import Device
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.errors import (
    NnfvError,
    RpcFailure,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.model import (
    STATES_WRITING,
    render_changes,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import (
    HAS_LXML,
    LXML_IMPORT_ERROR,
    parse,
    tostring,
)

POLL_INTERVAL = 0.5


class ResourceModule:
    """Subclasses set `model` and `config_filter` and may override `read_after`/`verdict`."""

    model = None
    config_filter = ""

    def __init__(self, module, device=None):
        self.module = module
        self.params = module.params
        self.state = self.params["state"]
        self.want = [self.model.clean(entry) for entry in self.params.get("config") or []]
        self._device = device
        self.target = None

    @property
    def device(self):
        if self._device is None:
            self._device = Device(self.module)
        return self._device

    # ---- entry point --------------------------------------------------------------------

    def run(self):
        """Execute the state; every expected failure ends the task here, with details."""
        if not HAS_LXML:
            from ansible.module_utils.basic import missing_required_lib

            self.module.fail_json(
                msg=missing_required_lib("lxml"), exception=str(LXML_IMPORT_ERROR)
            )
        try:
            result = self.execute()
        except NnfvError as exc:
            failure = exc.result()
            if self._device is not None:
                failure["rpcs"] = self._device.rpcs
            self.module.fail_json(**failure)
        self.module.exit_json(**result)

    def execute(self):
        state = self.state
        if state in ("merged", "replaced", "overridden", "rendered") and not self.want:
            raise NnfvError(f"value of config parameter must not be empty for state {state}")
        if state in ("replaced", "overridden", "rendered"):
            # whole entries: what the YANG model makes mandatory is checked before any RPC
            self.check_mandatory(self.want)
        if state == "rendered":
            config = self.model.config_element(self.want)
            return {"changed": False, "rendered": tostring(config, pretty=True)}
        if state == "parsed":
            return {"changed": False, "parsed": self.parse_running_config()}
        have = self.read_config("running")
        if state == "gathered":
            return {"changed": False, "gathered": have, "rpcs": self.device.rpcs}
        return self.apply(have)

    def check_mandatory(self, entries):
        missing = self.model.missing_mandatory(entries)
        if missing:
            raise NnfvError(
                "missing required options (the CPE refuses a "
                f"{self.model.label} without them): " + ", ".join(missing),
                missing_options=missing,
            )

    def parse_running_config(self):
        text = self.params.get("running_config")
        if not text:
            raise NnfvError("value of running_config parameter must not be empty for state parsed")
        try:
            root = parse(text)
        except Exception as exc:  # noqa: BLE001 (lxml raises several kinds)
            raise NnfvError(f"running_config is not valid XML: {exc}") from None
        return [self.model.clean(e) for e in self.model.entries_from_xml(root)]

    # ---- writing states -------------------------------------------------------------------

    def apply(self, have):
        if self.state not in STATES_WRITING:
            raise NnfvError(f"unknown state {self.state}")
        target = self.target = self.model.target(self.state, have, self.want)
        if self.state == "merged":
            # an entry given in part merges with the running one: check what it becomes
            wanted = {self.model.key_value("", e) for e in self.want}
            self.check_mandatory([e for e in target if self.model.key_value("", e) in wanted])
        changes, edit = self.model.diff(have, target)
        result = {
            "changed": bool(changes),
            "before": have,
            "commands": [tostring(edit, pretty=True)] if edit is not None else [],
            "changes": changes,
        }
        if self.module._diff:
            result["diff"] = {"prepared": render_changes(changes)}
        if edit is not None:
            try:
                result.update(self.push(edit, changes, target))
            except RpcFailure as exc:
                raise self.explain(exc, have, changes) from None
        result["rpcs"] = self.device.rpcs
        return result

    def push(self, edit, changes, target):
        """Lock, edit, then commit (or, in check mode, predict and discard), unlock."""
        device = self.device
        check = self.module.check_mode
        timeout = self.params.get("confirm_timeout") or 0
        out = {}
        device.lock()
        committed = False
        try:
            device.edit_config(edit)
            if check:
                out["after"] = self.read_config("candidate")
                out["plan"] = device.preview_commit()
            else:
                device.commit(timeout)
                committed = True
                out.update(self.settle(changes, target, timeout))
        except BaseException:
            # Leave the candidate clean and unlocked, without masking the first failure.
            if check or not committed:
                _quietly(device.discard_changes)
            _quietly(device.unlock)
            raise
        if check:
            device.discard_changes()
        device.unlock()
        return out

    def settle(self, changes, target, timeout):
        """Read the after-state until the commit has worked; confirm or cancel it.

        A plain commit is synchronous on the agent (a graph that cannot deploy makes the
        commit fail and roll back), so it is read back with get-config alone; a confirmed
        commit is read with <get> until its graphs report deployed, then confirmed.
        """
        if not timeout:
            return {"after": self.read_config("running")}
        deadline = time.monotonic() + max(1, self.params.get("deploy_timeout") or 0)
        watch = self.watched(changes, target)
        while True:
            after, status = self.read_after()
            verdict, reason = self.verdict(status, watch)
            if verdict == "wait" and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL)
                continue
            break
        shown = status if watch is None else {name: status.get(name) for name in watch}
        out = {"after": after, "status": shown}
        if verdict != "ok":
            if verdict == "wait":
                reason = f"not deployed within {self.params['deploy_timeout']} s: {reason}"
            if timeout:
                self.device.cancel_commit()
                raise NnfvError(
                    f"{reason}; the confirmed commit was cancelled and the CPE rolled back",
                    status=out["status"],
                    rolled_back=True,
                    rpcs=self.device.rpcs,
                )
            raise NnfvError(
                f"{reason}; the configuration stays committed (use confirm_timeout to "
                "have the CPE roll back by itself)",
                status=out["status"],
                rolled_back=False,
            )
        if timeout and self.params.get("confirm", True):
            self.device.commit()
        elif timeout:
            out["pending_confirm"] = True
            self.module.warn(
                f"the confirmed commit is left unconfirmed: the CPE rolls back in {timeout} s, "
                "or as soon as this NETCONF session closes"
            )
        return out

    # ---- hooks --------------------------------------------------------------------------

    def read_config(self, source):
        root = self.device.get_config(source, self.config_filter)
        return [self.model.clean(e) for e in self.model.entries_from_xml(root)]

    def read_after(self):
        """(after entries, status) once the commit is done."""
        return self.read_config("running"), {}

    def watched(self, changes, target):
        """Names of the graphs whose status tells if the push worked (None: all of them)."""
        return []

    def verdict(self, status, watch):
        """("ok" | "wait" | "failed", reason) of the status after a commit."""
        return "ok", ""

    def explain(self, failure, have, changes):
        """The RpcFailure of a push, with its errors pointed at this task's options."""
        return failure


def _quietly(step):
    try:
        step()
    except NnfvError:
        pass
