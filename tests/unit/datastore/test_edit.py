import pytest
from lxml import etree

from nnfv_agent.datastore.edit import EditEngine
from nnfv_agent.datastore.schema import Schema
from nnfv_agent.errors import AgentError

SG = "urn:nnfv:yang:nnfv-service-graph"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


@pytest.fixture(scope="module")
def engine():
    return EditEngine(Schema())


def graph(name, *inner, op=None):
    attr = f' nc:operation="{op}"' if op else ""
    return f"<graph{attr}><name>{name}</name>{''.join(inner)}</graph>"


def config(*graphs):
    return etree.fromstring(
        f'<config xmlns="{NC}" xmlns:nc="{NC}"><graphs xmlns="{SG}">'
        f"{''.join(graphs)}</graphs></config>"
    )


def datastore(*graphs):
    return etree.fromstring(f'<data><graphs xmlns="{SG}">{"".join(graphs)}</graphs></data>')


def names(data):
    return [g.findtext(f"{{{SG}}}name") for g in data.iter(f"{{{SG}}}graph")]


def test_merge_adds_a_list_entry_next_to_existing_ones(engine):
    data = datastore(graph("a"))
    engine.apply(data, config(graph("b")), "merge")
    assert names(data) == ["a", "b"]


def test_merge_replaces_a_leaf_value(engine):
    data = datastore(graph("a", "<description>old</description>"))
    engine.apply(data, config(graph("a", "<description>new</description>")), "merge")
    assert data.findtext(f".//{{{SG}}}description") == "new"


def test_create_of_existing_entry_raises_data_exists_with_its_path(engine):
    with pytest.raises(AgentError) as err:
        engine.apply(datastore(graph("a")), config(graph("a", op="create")), "merge")
    assert err.value.kind == "data-exists"
    assert err.value.path == "/nfg:graphs/nfg:graph[nfg:name='a']"
    assert err.value.path_nsmap == {"nfg": SG}


def test_delete_of_missing_entry_raises_data_missing_but_remove_does_not(engine):
    with pytest.raises(AgentError) as err:
        engine.apply(datastore(), config(graph("x", op="delete")), "merge")
    assert err.value.kind == "data-missing"
    data = datastore(graph("a"))
    engine.apply(data, config(graph("x", op="remove"), graph("a", op="remove")), "merge")
    assert names(data) == []


def test_replace_drops_children_not_in_the_edit(engine):
    data = datastore(graph("a", "<description>d</description>"))
    engine.apply(data, config(graph("a", op="replace")), "merge")
    assert data.find(f".//{{{SG}}}description") is None and names(data) == ["a"]


def test_default_operation_none_changes_nothing_without_operations(engine):
    data = datastore(graph("a"))
    engine.apply(data, config(graph("a", "<description>d</description>")), "none")
    assert names(data) == ["a"] and data.find(f".//{{{SG}}}description") is None


def test_default_operation_none_on_a_missing_list_entry_raises_data_missing(engine):
    data = datastore(graph("a"))
    with pytest.raises(AgentError) as err:
        engine.apply(data, config(graph("b", "<description>d</description>")), "none")
    assert err.value.kind == "data-missing"
    assert err.value.path == "/nfg:graphs/nfg:graph[nfg:name='b']"
    assert names(data) == ["a"]


def test_nested_delete_under_default_none_deletes_only_that_node(engine):
    data = datastore(graph("a", "<description>d</description>"), graph("b"))
    edit = config(graph("a", '<description nc:operation="delete"/>'))
    engine.apply(data, edit, "none")
    assert names(data) == ["a", "b"] and data.find(f".//{{{SG}}}description") is None


def test_list_entry_without_key_raises_missing_element(engine):
    with pytest.raises(AgentError) as err:
        engine.apply(datastore(), config("<graph><description>x</description></graph>"), "merge")
    assert err.value.kind == "missing-element" and err.value.info["bad-element"] == "name"


def test_unknown_element_and_namespace_are_told_apart(engine):
    with pytest.raises(AgentError) as err:
        engine.apply(datastore(), config(graph("a", "<colour>red</colour>")), "merge")
    assert err.value.kind == "unknown-element" and err.value.info["bad-element"] == "colour"
    bad_ns = etree.fromstring(f'<config xmlns="{NC}"><x xmlns="urn:nope"/></config>')
    with pytest.raises(AgentError) as err:
        engine.apply(datastore(), bad_ns, "merge")
    assert err.value.kind == "unknown-namespace"


def test_unknown_operation_value_raises_bad_attribute(engine):
    with pytest.raises(AgentError) as err:
        engine.apply(datastore(), config(graph("a", op="upsert")), "merge")
    assert err.value.kind == "bad-attribute"


def test_state_node_in_edit_is_refused(engine):
    with pytest.raises(AgentError) as err:
        engine.apply(
            datastore(), config(graph("a", "<status><state>deployed</state></status>")), "merge"
        )
    assert err.value.kind == "invalid-value"
