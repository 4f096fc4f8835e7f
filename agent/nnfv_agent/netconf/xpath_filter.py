"""XPath filters (the :xpath capability) for get, get-config, get-data and subscriptions.

The expression is compiled here and checked against a one-node document, then evaluated in a
bounded child (budget.run_bounded): libxml2 cannot be interrupted. EXSLT regular expressions
are not available (their cost has no bound). Unprefixed names, as yangcli and
netconf-console2 send them, are resolved against the namespaces the data holds.
"""

from __future__ import annotations

import copy
import re

from lxml import etree

from .budget import Budget, run_bounded
from .errors import ErrorType, RpcError
from .filters import selected
from .interfaces import KeysOf


def _invalid(message: str) -> RpcError:
    return RpcError(
        "invalid-value",
        message,
        ErrorType.PROTOCOL,
        info={"bad-attribute": "select", "bad-element": "filter"},
    )


def _failed(why: str) -> RpcError:
    return _invalid(f"the XPath filter failed: {why}")


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

    return bool(run_bounded(work, budget, _failed))


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
    found = run_bounded(lambda: _evaluate(data, select, nsmap), budget, _failed)
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
        new = selected(hit, mark)
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
