from lxml import etree

from nnfv_agent.netconf.filters import subtree
from nnfv_agent.netconf.xpath_filter import xpath

NS = "urn:t"
DATA = f"""<data><top xmlns="{NS}">
  <item><name>a</name><prio>1</prio><sub><x>1</x></sub></item>
  <item><name>b</name><prio>2</prio><sub><x>2</x></sub></item>
  <flag>true</flag>
</top><other xmlns="urn:o"><v>1</v></other></data>"""


def keys_of(el):
    return ("name",) if etree.QName(el).localname == "item" else ()


def data():
    return list(etree.fromstring(DATA))


def text(nodes):
    return "".join(etree.tostring(n, encoding="unicode") for n in nodes)


def filt(body: str):
    return etree.fromstring(
        f'<filter xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</filter>'
    )


def test_subtree_selection_node_returns_whole_subtree():
    out = subtree(data(), filt(f'<top xmlns="{NS}"/>'), keys_of)
    assert len(out) == 1 and out[0].find(f"{{{NS}}}flag").text == "true"


def test_subtree_content_match_selects_one_list_entry_whole():
    out = subtree(data(), filt(f'<top xmlns="{NS}"><item><name>b</name></item></top>'), keys_of)
    items = out[0].findall(f"{{{NS}}}item")
    assert len(items) == 1 and items[0].findtext(f"{{{NS}}}prio") == "2"


def test_subtree_containment_keeps_list_keys_and_selected_leaf_only():
    out = subtree(data(), filt(f'<top xmlns="{NS}"><item><prio/></item></top>'), keys_of)
    assert text(out).count("<name>") == 2
    assert "<sub>" not in text(out) and "<flag>" not in text(out)


def test_subtree_containment_without_match_is_dropped():
    out = subtree(data(), filt(f'<top xmlns="{NS}"><item><name>zz</name></item></top>'), keys_of)
    assert out == []


def test_empty_subtree_filter_selects_nothing():
    assert subtree(data(), filt(""), keys_of) == []


def test_subtree_namespace_must_match():
    assert subtree(data(), filt('<top xmlns="urn:wrong"/>'), keys_of) == []


def test_xpath_selects_node_with_ancestors_and_keys_once():
    out = xpath(data(), "/t:top/t:item/t:name", {"t": NS}, keys_of)
    assert text(out).count("<name>a</name>") == 1
    out = xpath(data(), "/t:top/t:item[t:name='a']/t:sub", {"t": NS}, keys_of)
    rendered = text(out)
    assert "<name>a</name>" in rendered and "<x>1</x>" in rendered and "<prio>" not in rendered


def test_xpath_selected_ancestor_and_descendant_merge_into_one_copy():
    out = xpath(data(), "/t:top/t:item | /t:top/t:item/t:sub", {"t": NS}, keys_of)
    assert text(out).count("<sub>") == 2
