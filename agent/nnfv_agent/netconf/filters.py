"""<filter> handling for get and get-config: subtree (RFC 6241 section 6) and XPath (:xpath).

Filters come from the network, so their cost is bounded. A subtree filter runs here under a
`Budget` (time, and the session still being alive). An XPath expression runs in libxml2, which
cannot be interrupted, so it is evaluated in a forked child with a deadline and a memory limit;
the child is killed when either runs out or the session ends, and the rest of the agent never
waits on it. EXSLT regular expressions are not available (their cost has no bound).
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
import re
import select as select_mod
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from lxml import etree

from .errors import ErrorType, RpcError
from .interfaces import KeysOf

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Budget:
    """What one filter may cost: wall time, memory (XPath), and the requester still being there."""

    timeout: float = 10.0
    max_memory: int = 64 * 1024 * 1024
    cancelled: Callable[[], bool] = field(default=lambda: False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        self._ticks = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def tick(self) -> None:
        self._ticks += 1
        if self._ticks & 1023 == 0:
            self.check()

    def check(self) -> None:
        if self.cancelled():
            log.info("filter stopped: its session ended")
            raise RpcError(
                "operation-failed", "the session ended while its filter ran", ErrorType.APPLICATION
            )
        if self.remaining() <= 0:
            log.warning("filter stopped: it took longer than %g s (xpath_timeout)", self.timeout)
            raise _too_costly(f"the filter took longer than {self.timeout:g} s")


def _too_costly(why: str) -> RpcError:
    return RpcError(
        "resource-denied",
        f"{why}; narrow or simplify it (limits: xpath_timeout, xpath_max_memory in agent.toml)",
        ErrorType.APPLICATION,
        info={"bad-element": "filter"},
    )


def subtree(
    data: list[etree._Element],
    filt: etree._Element,
    keys_of: KeysOf,
    budget: Budget | None = None,
    *,
    mark: str | None = None,
) -> list[etree._Element]:
    """The parts of `data` the subtree filter selects; with `mark`, each node the filter
    selects (as opposed to its ancestors and keys) carries that attribute."""
    budget = budget or Budget()
    selectors = [f for f in filt if isinstance(f.tag, str)]
    if not selectors:
        return []  # an empty filter selects nothing (RFC 6241 6.4.2)
    out = []
    for node in data:
        for sel in selectors:
            budget.tick()
            if _matches(sel, node):
                result = _apply(sel, node, keys_of, budget, mark)
                if result is not None:
                    out.append(result)
                    break
    return out


def _matches(sel: etree._Element, node: etree._Element) -> bool:
    s, n = etree.QName(sel), etree.QName(node)
    if s.localname != n.localname:
        return False
    return not s.namespace or s.namespace == n.namespace


def _is_content_match(sel: etree._Element) -> bool:
    return len(sel) == 0 and bool((sel.text or "").strip())


def _content_matches(matches: list[etree._Element], node: etree._Element, budget: Budget) -> bool:
    """Every content-match node of the filter has an equal child in `node`."""
    for m in matches:
        budget.tick()
        if not any(_matches(m, dc) and (dc.text or "").strip() == m.text.strip() for dc in node):
            return False
    return True


def _apply(
    sel: etree._Element,
    node: etree._Element,
    keys_of: KeysOf,
    budget: Budget,
    mark: str | None = None,
) -> etree._Element | None:
    children = [c for c in sel if isinstance(c.tag, str)]
    if not children:
        if _is_content_match(sel) and (node.text or "").strip() != sel.text.strip():
            return None
        return _selected(node, mark)
    matches = [c for c in children if _is_content_match(c)]
    others = [c for c in children if not _is_content_match(c)]
    if not _content_matches(matches, node, budget):
        return None
    if not others:
        return _selected(node, mark)
    out = etree.Element(node.tag, nsmap=node.nsmap)
    keys = keys_of(node)
    selected = False
    for dc in node:
        sub = None
        for o in others:
            budget.tick()
            if _matches(o, dc):
                sub = _apply(o, dc, keys_of, budget, mark)
                if sub is not None:
                    break
        if sub is not None:
            out.append(sub)
            selected = True
        elif etree.QName(dc).localname in keys or any(_matches(m, dc) for m in matches):
            out.append(copy.deepcopy(dc))
    return out if selected else None  # a containment node that selected nothing below it


def _selected(node: etree._Element, mark: str | None) -> etree._Element:
    out = copy.deepcopy(node)
    if mark:
        out.set(mark, "")
    return out


# ---- XPath ------------------------------------------------------------------------------------


def _invalid(message: str) -> RpcError:
    return RpcError(
        "invalid-value",
        message,
        ErrorType.PROTOCOL,
        info={"bad-attribute": "select", "bad-element": "filter"},
    )


def compile_xpath(select: str, nsmap: dict[str | None, str]) -> etree.XPath:
    """Compile and check a filter expression, whatever the data: no EXSLT, known prefixes."""
    namespaces = {k: v for k, v in nsmap.items() if k}
    try:
        compiled = etree.XPath(select, namespaces=namespaces, regexp=False, smart_strings=False)
        # Unknown prefixes and functions only show when evaluated; a one-node document is cheap.
        compiled(etree.ElementTree(etree.Element("probe")))
    except etree.XPathError as exc:
        raise _invalid(f"invalid XPath filter '{select}': {exc}") from None
    return compiled


def selects(compiled: etree.XPath, content: etree._Element, budget: Budget) -> bool:
    """Whether an XPath filter selects anything in one event (bounded like a get filter)."""

    def work() -> bool:
        found = compiled(etree.ElementTree(content))
        return bool(found) if not isinstance(found, list) else len(found) > 0

    return bool(_bounded(work, budget))


def xpath(
    data: list[etree._Element],
    select: str,
    nsmap: dict[str | None, str],
    keys_of: KeysOf,
    budget: Budget | None = None,
    *,
    mark: str | None = None,
) -> list[etree._Element]:
    budget = budget or Budget()
    select, extra = resolve_unprefixed(select, data, budget)
    nsmap = {**nsmap, **extra}
    compile_xpath(select, nsmap)  # refused the same on an empty datastore as on a full one
    if not data:
        return []
    found = _bounded(lambda: _evaluate(data, select, nsmap), budget)
    if found is None:
        raise _invalid("the XPath filter must select a node-set")
    hits = []
    for top_index, wanted in sorted(found.items()):
        # Each top-level node is evaluated as the root of its own document, as in the child.
        doc = copy.deepcopy(data[top_index])
        want = set(wanted)
        for index, el in enumerate(doc.iter()):
            if index in want:
                hits.append(el)
    return _with_ancestors(hits, keys_of, mark)


def _evaluate(
    data: list[etree._Element], select: str, nsmap: dict[str | None, str]
) -> dict[int, list[int]] | None:
    """In the child: {top-level index: document-order indexes of the selected elements}."""
    compiled = compile_xpath(select, nsmap)
    out: dict[int, list[int]] = {}
    for top_index, top in enumerate(data):
        doc = etree.ElementTree(copy.deepcopy(top))
        found = compiled(doc)
        if not isinstance(found, list):
            return None
        elements = []
        for item in found:
            if isinstance(item, etree._Element):
                elements.append(item)
            elif hasattr(item, "getparent") and item.getparent() is not None:
                elements.append(item.getparent())
        if not elements:
            continue
        position = {el: i for i, el in enumerate(doc.iter())}
        seen: dict[int, None] = {}
        for el in elements:
            if el in position:
                seen.setdefault(position[el], None)
        out[top_index] = list(seen)
    return out


def _bounded(work: Callable[[], T], budget: Budget) -> T:
    """Run `work` in a forked child under the budget; return its result or raise its error."""
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:  # out of memory or processes: refuse this filter, keep serving
        os.close(read_fd)
        os.close(write_fd)
        raise _too_costly(f"no process could be started for the filter ({exc.strerror})") from None
    if pid == 0:  # the child: no threads, no locks of ours, exits without cleanup
        os.close(read_fd)
        _run_child(work, budget, parent, write_fd)
    os.close(write_fd)
    return _outcome(_read_child(pid, read_fd, budget), budget)


def _run_child(work: Callable[[], object], budget: Budget, parent: int, write_fd: int) -> NoReturn:
    """In the child: run `work` under the limits, send ("ok", result) or what failed."""
    status = 0
    try:
        _die_with(parent, budget.remaining())
        _limit_memory(budget.max_memory)
        result: tuple[str, object] = ("ok", work())
    except RpcError as exc:
        result = ("rpc-error", exc)
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        result = ("error", f"{type(exc).__name__}: {exc}")
    try:
        payload = pickle.dumps(result)
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
    except BaseException:  # noqa: BLE001
        status = 1
    os._exit(status)


def _read_child(pid: int, read_fd: int, budget: Budget) -> bytes:
    """What the child sent, read within the budget; the child is killed if time runs out."""
    chunks: list[bytes] = []
    finished = False
    try:
        while True:
            budget.check()
            ready, _, _ = select_mod.select([read_fd], [], [], min(0.05, budget.remaining()))
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
    return b"".join(chunks)


def _outcome(payload: bytes, budget: Budget) -> Any:
    """The child's result, or its failure as an rpc-error."""
    too_big = f"the XPath filter needed more than {budget.max_memory // (1024 * 1024)} MiB"
    try:
        kind, value = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - the child died (memory limit, signal)
        raise _too_costly(too_big) from None
    if kind == "ok":
        return value
    if kind == "rpc-error":
        raise value
    if kind == "memory":
        raise _too_costly(too_big)
    raise _invalid(f"the XPath filter failed: {value}")


def _die_with(parent: int, seconds: float) -> None:
    """In the child: never outlive the agent, nor the filter's time budget.

    The parent kills the child when the budget runs out or the session ends; if the parent is
    killed itself (kill -9, a test's teardown), the kernel must do it instead.
    """
    import ctypes
    import resource

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)
    cpu = max(1, int(seconds) + 2)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _limit_memory(extra: int) -> None:
    import resource

    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = size + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# ---- unprefixed names (what yangcli and netconf-console2 send) --------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<literal>"[^"]*"|'[^']*')
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<name>[^\W\d][\w.\-]*(?::(?:[^\W\d][\w.\-]*|\*))?)
    | (?P<op>//|::|\.\.|!=|<=|>=|[/.()\[\]@,|+\-=<>*$])
    )""",
    re.VERBOSE,
)
_OPERATOR_NAMES = ("and", "or", "mod", "div")
# After these tokens a name is a name test and '*' a wildcard (XPath 1.0 section 3.7).
_BEFORE_OPERAND: tuple[str, ...] = ("@", "::", "(", "[", ",", "/", "//", "|", "+", "-", "=")
_BEFORE_OPERAND += ("!=", "<", "<=", ">", ">=", "$", *_OPERATOR_NAMES)


def resolve_unprefixed(
    select: str, data: list[etree._Element], budget: Budget
) -> tuple[str, dict[str | None, str]]:
    """Give each unprefixed element name test the one namespace that uses that name in `data`.

    Returns the rewritten expression and the prefixes it introduced. A name that several
    namespaces use is refused with a message naming them; a name that no data uses is left as it
    is (it selects nothing).
    """
    spots = _unprefixed_name_tests(_tokens(select))
    if not spots:
        return select, {}
    owners = _namespaces_using(data, {text for _, _, _, text, _ in spots}, budget)
    prefixes: dict[str, str] = {}
    resolved: dict[int, str] = {}
    out, last = [], 0
    for index, start, end, text, parent in spots:
        namespaces = owners.get(text, set())
        if len(namespaces) > 1 and parent in resolved and resolved[parent] in namespaces:
            namespaces = {resolved[parent]}
        if len(namespaces) > 1:
            raise _invalid(
                f"the unprefixed name '{text}' in the XPath filter is ambiguous: it is used in "
                f"{', '.join(sorted(namespaces))}; give it a prefix"
            )
        if not namespaces:
            continue
        namespace = next(iter(namespaces))
        resolved[index] = namespace
        prefix = prefixes.setdefault(namespace, f"nnfv-auto{len(prefixes)}")
        out.append(select[last:start] + f"{prefix}:{text}")
        last = end
    out.append(select[last:])
    return "".join(out), {p: ns for ns, p in prefixes.items()}


# (token index, start, end, name, index of the parent step's name token or None)
NameTest = tuple[int, int, int, str, int | None]


def _unprefixed_name_tests(tokens: list[tuple[str, str, int, int]]) -> list[NameTest]:
    """The element name tests without a prefix (not functions, axes, attributes, operators)."""
    spots: list[NameTest] = []
    for i, (kind, text, start, end) in enumerate(tokens):
        if kind != "name" or ":" in text:
            continue
        prev = tokens[i - 1][1] if i else None
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if prev is not None and prev not in _BEFORE_OPERAND and prev != "*":
            continue  # an operator name (and, or, div, mod)
        if prev is not None and prev == "*" and i >= 2 and tokens[i - 2][1] not in _BEFORE_OPERAND:
            continue  # '*' was a multiplication, so this is an operator name
        if nxt in ("(", "::") or prev in ("@", "$"):
            continue  # function, node type, axis, attribute or variable
        if prev == "::" and i >= 2 and tokens[i - 2][1] in ("attribute", "namespace"):
            continue
        # The step before, when this one is its child: `graph/name` (YANG: a child without a
        # prefix is in its parent's namespace).
        parent = i - 2 if prev == "/" and i >= 2 and tokens[i - 2][0] == "name" else None
        spots.append((i, start, end, text, parent))
    return spots


def _namespaces_using(
    data: list[etree._Element], wanted: set[str], budget: Budget
) -> dict[str, set[str]]:
    """For each wanted local name, the namespaces of the elements in `data` that have it."""
    owners: dict[str, set[str]] = {}
    for top in data:
        for el in top.iter():
            budget.tick()
            if not isinstance(el.tag, str):
                continue
            q = etree.QName(el)
            if q.localname in wanted and q.namespace:
                owners.setdefault(q.localname, set()).add(q.namespace)
    return owners


def _tokens(select: str) -> list[tuple[str, str, int, int]]:
    tokens = []
    pos = 0
    while pos < len(select):
        if select[pos:].strip() == "":
            break
        m = _TOKEN.match(select, pos)
        if m is None or m.end() == pos:
            return []  # not an expression we can read; the compiler will say why
        kind = m.lastgroup or ""
        text = m.group(kind)
        tokens.append((kind, text, m.start(kind), m.end(kind)))
        pos = m.end()
    return tokens


def _with_ancestors(
    hits: list[etree._Element], keys_of: KeysOf, mark: str | None = None
) -> list[etree._Element]:
    # lxml proxies are short-lived and id() values get reused, so nodes are keyed by their
    # document and their path in it.
    roots: list[etree._Element] = []
    made: dict[tuple[int, str], etree._Element] = {}
    full: set[tuple[int, str]] = set()
    docs = [hit.getroottree() for hit in hits]  # keeps every document alive while we work

    def key(el: etree._Element) -> tuple[int, str]:
        tree = el.getroottree()
        return id(tree.getroot()), tree.getpath(el)

    for hit in hits:
        chain = [*reversed(list(hit.iterancestors())), hit]
        if any(key(a) in full for a in chain[:-1]):
            continue
        parent_out = None
        for anc in chain[:-1]:
            if key(anc) not in made:
                shell = etree.Element(anc.tag, nsmap=anc.nsmap)
                keys = keys_of(anc)
                for dc in anc:
                    if etree.QName(dc).localname in keys:
                        key_copy = copy.deepcopy(dc)
                        shell.append(key_copy)
                        made[key(dc)] = key_copy
                _attach(shell, parent_out, roots)
                made[key(anc)] = shell
            parent_out = made[key(anc)]
        new = _selected(hit, mark)
        old = made.get(key(hit))
        if old is not None:
            parent = old.getparent()
            if parent is not None:
                parent.replace(old, new)
            else:
                roots[roots.index(old)] = new
        else:
            _attach(new, parent_out, roots)
        made[key(hit)] = new
        full.add(key(hit))
    del docs
    return roots


def _attach(el: etree._Element, parent: etree._Element | None, roots: list[etree._Element]) -> None:
    if parent is None:
        roots.append(el)
    else:
        parent.append(el)
