"""Handlers of the RFC 6241 base operations and their capability extensions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from ..xmlutil import DS, NC, NCDS, NNFVA, WD, child, child_text, identity, local, ns_of, qn
from .budget import Budget
from .dispatch import RawData, Reply
from .errors import ErrorType, RpcError, bad_element, invalid_value, missing_element
from .filters import subtree
from .nacm import prune_for_read
from .session import Session
from .xpath_filter import xpath

if TYPE_CHECKING:
    from ..config import AgentConfig
    from ..datastore.confirmed import ConfirmedCommits
    from ..datastore.store import Datastores
    from .access import AccessControl
    from .dispatch import Dispatcher
    from .interfaces import KeysOf, OperationalView, SessionTable

DATASTORE_NAMES = ("running", "candidate", "startup")
WD_MODES = ("report-all", "report-all-tagged", "trim", "explicit")


class BaseOperations:
    """The base operations, registered with the dispatcher; each reaches only what it is given."""

    def __init__(
        self,
        dispatcher: Dispatcher[Session],
        *,
        stores: Datastores,
        confirmed: ConfirmedCommits,
        access: AccessControl,
        view: OperationalView,
        sessions: SessionTable,
        keys_of: KeysOf,
        config: AgentConfig,
    ) -> None:
        self.stores = stores
        self.confirmed = confirmed
        self.access = access
        self.view = view
        self.sessions = sessions
        self.keys_of = keys_of
        self.config = config
        for name in (
            "get",
            "get-config",
            "edit-config",
            "copy-config",
            "delete-config",
            "lock",
            "unlock",
            "close-session",
            "kill-session",
            "validate",
            "commit",
            "discard-changes",
            "cancel-commit",
        ):
            handler = getattr(self, name.replace("-", "_"))
            dispatcher.register(NC, name, handler)
        dispatcher.register(NNFVA, "preview-commit", self.preview_commit)

    # ---- retrieval --------------------------------------------------------------------

    def get_config(self, session: Session, op: etree._Element) -> Reply:
        source = self._datastore(op, "source", DATASTORE_NAMES)
        mode = _with_defaults(op)
        xml = tag_defaults(self.stores.xml(source, mode), mode)
        return self._filtered(session, op, xml, [])

    def get(self, session: Session, op: etree._Element) -> Reply:
        mode = _with_defaults(op)
        xml = self.view.operational_xml(self.stores.xml("running", mode))
        xml = self.access.with_counters(xml)
        return self._filtered(session, op, tag_defaults(xml, mode), self.view.state_data(op))

    def _filtered(
        self, session: Session, op: etree._Element, config_xml: str, state: list[etree._Element]
    ) -> Reply:
        filt = child(op, "filter")
        if filt is None and not state and self.access.access(session).sees_everything():
            return RawData(config_xml)
        wrapper = etree.Element(qn(NC, "data"))
        wrapper.extend(self.assemble(session, filt, config_xml, state))
        return [wrapper]

    def assemble(
        self,
        session: Session,
        filt: etree._Element | None,
        config_xml: str,
        state: list[etree._Element],
        *,
        mark: str | None = None,
    ) -> list[etree._Element]:
        """The data of a reply, from configuration and state, through an RFC 6241 <filter>.

        The one place where get, get-config (when filtered or with state) and get-data build
        what they return. NACM read filtering comes first, so a filter cannot test what the
        user may not read. With `mark`, the nodes the filter selects carry that attribute.
        """
        data = list(etree.fromstring(f"<data>{config_xml}</data>")) + state
        access = self.access.access(session)
        if not access.sees_everything():
            data = prune_for_read(access, data)
        if filt is not None:
            cfg = self.config
            budget = Budget(cfg.xpath_timeout, cfg.xpath_max_memory, lambda: not session.alive())
            data = self._apply_filter(filt, data, budget, mark)
        return data

    def _apply_filter(
        self,
        filt: etree._Element,
        data: list[etree._Element],
        budget: Budget,
        mark: str | None = None,
    ) -> list[etree._Element]:
        kind = filt.get("type", "subtree")
        if kind == "subtree":
            return subtree(data, filt, self.keys_of, budget, mark=mark)
        if kind == "xpath":
            select = filt.get("select")
            if not select:
                raise RpcError(
                    "missing-attribute",
                    "an XPath filter needs a select attribute",
                    ErrorType.PROTOCOL,
                    info={"bad-attribute": "select", "bad-element": "filter"},
                )
            return xpath(data, select, filt.nsmap, self.keys_of, budget, mark=mark)
        raise RpcError(
            "bad-attribute",
            f"unknown filter type '{kind}'",
            ErrorType.PROTOCOL,
            info={"bad-attribute": "type", "bad-element": "filter"},
        )

    # ---- editing ------------------------------------------------------------------------

    def edit_config(self, session: Session, op: etree._Element) -> Reply:
        target = self._datastore(op, "target", ("running", "candidate"))
        default_op = child_text(op, "default-operation") or "merge"
        if default_op not in ("merge", "replace", "none"):
            raise invalid_value(
                f"unknown default-operation '{default_op}'",
                info={"bad-element": "default-operation"},
            )
        test_option = child_text(op, "test-option") or "test-then-set"
        if test_option not in ("test-then-set", "set", "test-only"):
            raise invalid_value(
                f"unknown test-option '{test_option}'", info={"bad-element": "test-option"}
            )
        error_option = child_text(op, "error-option") or "stop-on-error"
        if error_option not in ("stop-on-error", "continue-on-error", "rollback-on-error"):
            raise invalid_value(
                f"unknown error-option '{error_option}'", info={"bad-element": "error-option"}
            )
        # Every edit is atomic, so stop-on-error and continue-on-error behave like
        # rollback-on-error: a failing edit changes nothing.
        self.apply_edit(
            session,
            target,
            child(op, "config"),
            url_given=child(op, "url") is not None,
            rpc="edit-config",
            default_operation=default_op,
            test_option=test_option,
        )
        return None

    def apply_edit(
        self,
        session: Session,
        target: str,
        config: etree._Element | None,
        *,
        url_given: bool,
        rpc: str,
        default_operation: str,
        test_option: str = "test-then-set",
    ) -> None:
        """An edit of edit-config or edit-data, under the session's NACM write guard; running is
        written by the commit transaction."""
        if config is None:
            if url_given:
                raise RpcError(
                    "operation-not-supported",
                    "the :url capability is not supported",
                    ErrorType.PROTOCOL,
                )
            raise missing_element("config", rpc)
        self.stores.edit(
            target,
            config,
            session_id=session.id,
            default_operation=default_operation,
            test_option=test_option,
            guard=self.access.write_guard(session),
        )

    def copy_config(self, session: Session, op: etree._Element) -> Reply:
        target = self._datastore(op, "target", DATASTORE_NAMES)
        source_el = child(op, "source")
        if source_el is None:
            raise missing_element("source", "copy-config")
        inline = child(source_el, "config")
        guard = self.access.write_guard(session)
        if inline is not None:
            self.stores.copy(inline, target, session_id=session.id, guard=guard)
            return None
        source = self._datastore(op, "source", DATASTORE_NAMES)
        self.stores.copy(source, target, session_id=session.id, guard=guard)
        return None

    def delete_config(self, session: Session, op: etree._Element) -> Reply:
        target = self._datastore(op, "target", DATASTORE_NAMES)
        self.stores.delete(target, session_id=session.id, guard=self.access.write_guard(session))
        return None

    def discard_changes(self, session: Session, op: etree._Element) -> Reply:
        self.stores.locks.check_writable("candidate", session.id)
        self.stores.discard_changes()
        return None

    def validate(self, session: Session, op: etree._Element) -> Reply:
        source_el = child(op, "source")
        if source_el is None:
            raise missing_element("source", "validate")
        inline = child(source_el, "config")
        source = inline if inline is not None else self._datastore(op, "source", DATASTORE_NAMES)
        self.stores.validate(source)  # the plan is what preview-commit shows
        return None

    def preview_commit(self, session: Session, op: etree._Element) -> Reply:
        inline = child(op, "config", NNFVA)
        plan = self.stores.validate(inline if inline is not None else "candidate")
        out = []
        for index, operation in enumerate(plan.operations):
            el = etree.Element(qn(NNFVA, "operation"), nsmap={None: NNFVA})
            etree.SubElement(el, qn(NNFVA, "index")).text = str(index)
            etree.SubElement(el, qn(NNFVA, "name")).text = operation.name
            etree.SubElement(el, qn(NNFVA, "target")).text = operation.target
            out.append(el)
        return out or None  # RFC 7950 7.14.4: no output parameters -> <ok/>

    def commit(self, session: Session, op: etree._Element) -> Reply:
        confirmed = child(op, "confirmed") is not None
        timeout_text = child_text(op, "confirm-timeout")
        timeout = None
        if timeout_text is not None:
            if not confirmed:
                raise bad_element("confirm-timeout", "confirm-timeout needs <confirmed/>")
            if not _is_number(timeout_text) or int(timeout_text) == 0:
                raise invalid_value(
                    "confirm-timeout must be a positive number of seconds",
                    info={"bad-element": "confirm-timeout"},
                )
            timeout = int(timeout_text)
        persist = child_text(op, "persist")
        if persist is not None and not confirmed:
            raise bad_element("persist", "persist needs <confirmed/>")
        self.confirmed.commit(
            session_id=session.id,
            confirmed=confirmed,
            timeout=timeout,
            persist=persist,
            persist_id=child_text(op, "persist-id"),
            guard=self.access.write_guard(session),
        )
        return None

    def cancel_commit(self, session: Session, op: etree._Element) -> Reply:
        self.confirmed.cancel(session_id=session.id, persist_id=child_text(op, "persist-id"))
        return None

    # ---- locks and sessions -----------------------------------------------------------

    def lock(self, session: Session, op: etree._Element) -> Reply:
        self.stores.lock_datastore(self._datastore(op, "target", DATASTORE_NAMES), session.id)
        return None

    def unlock(self, session: Session, op: etree._Element) -> Reply:
        self.stores.unlock_datastore(self._datastore(op, "target", DATASTORE_NAMES), session.id)
        return None

    def close_session(self, session: Session, op: etree._Element) -> Reply:
        session.end_reason = "closed"
        session.closing = True
        return None

    def kill_session(self, session: Session, op: etree._Element) -> Reply:
        text = child_text(op, "session-id")
        if text is None:
            raise missing_element("session-id", "kill-session")
        if not _is_number(text):
            raise invalid_value(
                f"session-id '{text}' is not a number", info={"bad-element": "session-id"}
            )
        victim = int(text)
        if victim == session.id:
            raise invalid_value(
                "a session cannot kill itself; use close-session",
                info={"bad-element": "session-id"},
            )
        if not self.sessions.kill_session(victim, killed_by=session.id):
            raise invalid_value(f"there is no session {victim}", info={"bad-element": "session-id"})
        return None

    # ---- helpers ------------------------------------------------------------------------

    @staticmethod
    def _datastore(op: etree._Element, which: str, allowed: tuple[str, ...]) -> str:
        holder = child(op, which)
        if holder is None:
            raise missing_element(which, local(op))
        names = [c for c in holder if isinstance(c.tag, str)]
        if len(names) != 1:
            raise missing_element(which, local(op))
        el = names[0]
        name = local(el)
        if name == "url":
            raise RpcError(
                "operation-not-supported",
                "the :url capability is not supported",
                ErrorType.PROTOCOL,
            )
        if ns_of(el) == NCDS and name == "datastore":  # RFC 8526 augments lock, unlock, validate
            namespace, name = identity(el)
            if namespace == DS and name in allowed:
                return name
            raise invalid_value(
                f"'{(el.text or '').strip()}' is not a datastore <{local(op)}> accepts",
                info={"bad-element": "datastore"},
            )
        if ns_of(el) != NC or name not in allowed:
            raise invalid_value(
                f"<{name}> is not a valid {which} for <{local(op)}>", info={"bad-element": which}
            )
        return name


# libyang tags defaults with its ietf-netconf-with-defaults annotation; RFC 6243 section 6 wants
# the attribute in the netconf:default:1.0 namespace.
_LY_WD_NS = 'xmlns:ncwd="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"'
_RFC_WD_NS = 'xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0"'


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts superscripts, which int() refuses."""
    return text.isascii() and text.isdigit()


def tag_defaults(xml: str, mode: str | None) -> str:
    if mode != "report-all-tagged":
        return xml
    return xml.replace(_LY_WD_NS, _RFC_WD_NS).replace(' ncwd:default="true"', ' wd:default="true"')


def _with_defaults(op: etree._Element) -> str | None:
    mode = child_text(op, "with-defaults", WD)
    if mode is not None and mode not in WD_MODES:
        raise invalid_value(
            f"unknown with-defaults mode '{mode}'", info={"bad-element": "with-defaults"}
        )
    return mode
