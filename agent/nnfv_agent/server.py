"""The agent: wires schema, datastores, commit pipeline, NETCONF sessions and the SSH server."""

from __future__ import annotations

import itertools
import logging
import threading
from pathlib import Path

import paramiko
from lxml import etree

from . import __version__
from .commit.changes import ChangeKind
from .commit.checks import InterfaceOwnership
from .commit.pipeline import CommitPipeline, Plan
from .commit.registry import missing_entries
from .config import AgentConfig
from .datastore.confirmed import ConfirmedCommits
from .datastore.persist import secure_state_dir
from .datastore.schema import FEATURES, Schema
from .datastore.store import Datastores
from .netconf.access import AccessControl
from .netconf.callhome import CallHome
from .netconf.dispatch import CURRENT_SESSION, Dispatcher
from .netconf.monitoring import Monitoring
from .netconf.nmda import NmdaOperations
from .netconf.notifications import EventLog
from .netconf.operations import BaseOperations
from .netconf.session import BASE_10, BASE_11, Session
from .netconf.ssh import SshServer

log = logging.getLogger(__name__)

CAP = "urn:ietf:params:netconf:capability:"
STATIC_CAPABILITIES = [
    BASE_10,
    BASE_11,
    CAP + "writable-running:1.0",
    CAP + "candidate:1.0",
    # The 1.0 forms too: clients such as yangcli look for them before using the operation.
    CAP + "confirmed-commit:1.0",
    CAP + "confirmed-commit:1.1",
    CAP + "rollback-on-error:1.0",
    CAP + "validate:1.0",
    CAP + "validate:1.1",
    CAP + "startup:1.0",
    CAP + "xpath:1.0",
    CAP + "notification:1.0",
    CAP + "interleave:1.0",
    CAP + "with-defaults:1.0?basic-mode=explicit&also-supported=report-all,report-all-tagged,trim",
    # RFC 8526: get-data's with-defaults also applies to the operational datastore.
    CAP + "with-operational-defaults:1.0"
    "?basic-mode=explicit&also-supported=report-all,report-all-tagged,trim",
]

_RFC6470_OPERATION = {
    ChangeKind.CREATED: "create",
    ChangeKind.DELETED: "delete",
    ChangeKind.MODIFIED: "replace",
}


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.state_dir = Path(config.state_dir)
        secure_state_dir(self.state_dir)  # 0700, its files 0600: they can hold secrets
        self.schema = Schema(config.yang_dir)
        unmapped = missing_entries(self.schema.ctx)
        if unmapped:
            raise RuntimeError(
                "configuration nodes without a commit handler (add them to "
                f"commit/registry.py): {', '.join(unmapped)}"
            )
        self.pipeline = CommitPipeline()
        self.dispatcher: Dispatcher[Session] = Dispatcher(self.capabilities)
        self.events = EventLog(
            self.dispatcher,
            self.keys_of,
            queue_size=config.notification_queue,
            filter_timeout=config.xpath_timeout,
            filter_memory=config.xpath_max_memory,
        )
        self.stores = Datastores(
            self.schema, self.state_dir, self.pipeline, commit_wait=config.commit_wait
        )
        for name, why in self.stores.recovered:  # kept for replay to later subscribers
            self.events.publish(_state_file_recovered(name, why))
        self.interfaces = InterfaceOwnership()
        self.pipeline.register(self.interfaces)
        self.dataplane = None
        if config.dataplane == "native":
            from .dataplane import DataPlane

            self.dataplane = DataPlane(
                config,
                self.state_dir,
                self.events.publish,
                lambda: self.stores.snapshot("running").tops_tree,
            )
            self.dataplane.register(self.pipeline)
            # Repairs are made as the one writer of running, like commits.
            self.dataplane.supervisor.writer = lambda: self.stores.writer(wait=None)
        self.pipeline.observe(self._config_changed)
        self.confirmed = ConfirmedCommits(
            self.stores,
            publish=self.events.publish,
            retry_min=config.rollback_retry_min,
            retry_max=config.rollback_retry_max,
        )
        self.nacm = AccessControl(self.schema, config, lambda: self.stores.snapshot("running"))
        self.dispatcher.exec_check = self.nacm.check_exec
        self.events.visible = self.nacm.visible_notification
        self.operations = BaseOperations(
            self.dispatcher,
            stores=self.stores,
            confirmed=self.confirmed,
            access=self.nacm,
            view=self,
            sessions=self,
            keys_of=self.keys_of,
            config=config,
        )
        self.nmda = NmdaOperations(
            self.dispatcher,
            self.operations,
            stores=self.stores,
            schema=self.schema,
            access=self.nacm,
            view=self,
            keys_of=self.keys_of,
        )
        self.monitoring = Monitoring(
            self.dispatcher,
            schema=self.schema,
            stores=self.stores,
            sessions=self,
            capabilities=self.capabilities,
        )
        self._sessions: dict[int, Session] = {}
        self._sessions_lock = threading.Lock()
        self._reserved = 0
        self._ids = itertools.count(1)
        self._capabilities = STATIC_CAPABILITIES + self._module_capabilities()
        self.ssh: SshServer | None = None
        self.call_home: CallHome | None = None

    # ---- capabilities and state -------------------------------------------------------

    def _module_capabilities(self) -> list[str]:
        with self.schema.lock:
            yanglib = self.schema.ctx.get_yanglib_data("%u")
            try:
                content_id = next(
                    n for n in yanglib.iter_tree() if n.name() == "content-id"
                ).value()
            finally:
                yanglib.free()
        caps = [CAP + f"yang-library:1.1?revision=2019-01-04&content-id={content_id}"]
        for name, revision, namespace in self.schema.modules():
            mod = self.schema.ctx.get_module(name)
            if not mod.implemented():
                continue
            cap = f"{namespace}?module={name}"
            if revision:
                cap += f"&revision={revision}"
            features = [
                f.name()
                for f in mod.features()
                if f.state() and (name != "ietf-netconf" or f.name() in FEATURES["ietf-netconf"])
            ]
            if features:
                cap += "&features=" + ",".join(features)
            caps.append(cap)
        return caps

    def capabilities(self) -> list[str]:
        return self._capabilities

    def state_data(self, op: etree._Element) -> list[etree._Element]:
        rollback = self.confirmed.state_xml()
        return [
            self.monitoring.netconf_state(),
            *self.monitoring.yang_library(),
            etree.fromstring(self.events.streams_xml()),
            *([rollback] if rollback is not None else []),
        ]

    def operational_xml(self, config_xml: str) -> str:
        """Running config merged (by libyang) with the state of graphs and templates."""
        if self.dataplane is None:
            return config_xml
        graphs = self.dataplane.status.graphs_xml()
        return self.schema.merge_xml(
            config_xml, graphs, self.dataplane.catalog.shipped_xml(), self.dataplane.node_xml()
        )

    def keys_of(self, element: etree._Element) -> tuple[str, ...]:
        # The reply's namespace-less <data> wrapper is not a schema node.
        chain = [*reversed(list(element.iterancestors())), element]
        path = [(etree.QName(e).namespace or "", etree.QName(e).localname) for e in chain]
        node = self.schema.node_for([p for p in path if p != ("", "data")])
        return node.keys if node else ()

    def _config_changed(self, plan: Plan) -> None:
        """RFC 6470 netconf-config-change, with one <edit> per changed node."""
        if not plan.changes:
            return
        ncn = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
        root = etree.Element(f"{{{ncn}}}netconf-config-change", nsmap={None: ncn})
        by = etree.SubElement(root, f"{{{ncn}}}changed-by")
        session = CURRENT_SESSION.get()
        if session is None:
            etree.SubElement(by, f"{{{ncn}}}server")
        else:
            for tag, value in (
                ("username", session.username),
                ("session-id", session.id),
                ("source-host", session.source_host),
            ):
                etree.SubElement(by, f"{{{ncn}}}{tag}").text = str(value)
        etree.SubElement(root, f"{{{ncn}}}datastore").text = "running"
        for change in plan.changes:
            path, nsmap = self.schema.xpath(change.path)
            edit = etree.SubElement(root, f"{{{ncn}}}edit")
            etree.SubElement(edit, f"{{{ncn}}}target", nsmap=nsmap).text = path
            etree.SubElement(edit, f"{{{ncn}}}operation").text = _RFC6470_OPERATION[change.kind]
        self.events.publish(etree.tostring(root, encoding="unicode"))

    # ---- sessions -----------------------------------------------------------------------

    def _may_open(self) -> bool:
        with self._sessions_lock:
            if len(self._sessions) + self._reserved >= self.config.max_sessions:
                self.dispatcher.stats.dropped_sessions += 1
                return False
            self._reserved += 1
            return True

    def _release(self) -> None:
        with self._sessions_lock:
            self._reserved -= 1

    def run_session(
        self,
        channel: paramiko.Channel,
        username: str,
        peer: str,
        *,
        idle_timeout: float | None = None,
    ) -> bool:
        """Serve one session to its end; True when the client closed it (close-session)."""
        session = Session(
            next(self._ids),
            username,
            peer,
            channel,
            self.dispatcher,
            self.config.max_message_size,
            max_elements=self.config.max_message_elements,
            hello_timeout=self.config.hello_timeout,
            idle_timeout=idle_timeout,
        )
        session.keep_idle = lambda: session.id in self.events.subscriptions
        with self._sessions_lock:
            self._reserved -= 1
            self._sessions[session.id] = session
            self.dispatcher.stats.in_sessions += 1
        log.info("session %d opened for %s from %s", session.id, username, peer)
        self.events.session_started(session)
        try:
            session.run()
        finally:
            self.end_session(session)
        return session.end_reason == "closed"

    def end_session(self, session: Session) -> None:
        with self._sessions_lock:
            if self._sessions.pop(session.id, None) is None:
                return
        session.close()
        self.events.session_ended(session.id)
        self.confirmed.session_ended(session.id)
        self.stores.session_ended(session.id)
        self.events.session_finished(session, session.end_reason, session.killed_by)
        log.info("session %d closed (%s)", session.id, session.end_reason)

    def kill_session(self, session_id: int, killed_by: int | None = None) -> bool:
        with self._sessions_lock:
            victim = self._sessions.get(session_id)
        if victim is None:
            return False
        victim.end_reason, victim.killed_by = "killed", killed_by
        self.end_session(victim)
        return True

    def sessions_snapshot(self) -> list[Session]:
        with self._sessions_lock:
            return list(self._sessions.values())

    # ---- serving ------------------------------------------------------------------------

    def start(self) -> int:
        running = self.stores.snapshot("running")
        self.interfaces.load(running.tree)
        if self.dataplane is not None:
            from .node.reconcile import Reconciler

            with self.stores.writer(wait=None):
                deployed = self.dataplane.planner.load(running.tree)
                Reconciler(self.dataplane).run(deployed)
            self.dataplane.start_monitor()
        self.stores.recovery_done()
        self.ssh = SshServer(self.config, self.run_session, self._may_open, self._release)
        log.info(
            "nnfv-agent %s listening on %s:%d, state in %s",
            __version__,
            self.config.listen_host,
            self.ssh.port,
            self.state_dir,
        )
        if self.config.call_home:
            self.call_home = CallHome(self.config.call_home, self.ssh)
            self.call_home.start()
        return self.ssh.port

    def serve_forever(self) -> None:
        assert self.ssh is not None
        self.ssh.serve_forever()

    def stop(self) -> None:
        if self.dataplane:
            self.dataplane.stop_monitor()
        if self.call_home:
            self.call_home.stop()
        if self.ssh:
            self.ssh.stop()
        for session in self.sessions_snapshot():
            self.end_session(session)
        self.confirmed.stop()


def _state_file_recovered(name: str, why: str) -> str:
    ns = "urn:nnfv:yang:nnfv-agent"
    root = etree.Element(f"{{{ns}}}state-file-recovered", nsmap={None: ns})
    etree.SubElement(root, f"{{{ns}}}file").text = name
    etree.SubElement(root, f"{{{ns}}}reason").text = why
    return etree.tostring(root, encoding="unicode")
