from nnfv_agent.commit.changes import ChangeKind, diff
from nnfv_agent.datastore.schema import Schema

SG = "urn:nnfv:yang:nnfv-service-graph"


def tree(schema, *graphs):
    body = "".join(f"<graph><name>{g}</name>{extra}</graph>" for g, extra in graphs)
    return schema.parse(f'<graphs xmlns="{SG}">{body}</graphs>', validate=True)


def test_diff_reports_created_deleted_and_modified_nodes_typed():
    schema = Schema()
    old = tree(schema, ("a", "<description>one</description>"), ("b", ""))
    new = tree(schema, ("a", "<description>two</description>"), ("c", ""))
    changes = {(c.kind, c.path) for c in diff(old, new)}
    assert (
        ChangeKind.MODIFIED,
        "/nnfv-service-graph:graphs/graph[name='a']/description",
    ) in changes
    assert (ChangeKind.DELETED, "/nnfv-service-graph:graphs/graph[name='b']") in changes
    assert (ChangeKind.CREATED, "/nnfv-service-graph:graphs/graph[name='c']") in changes
    modified = next(c for c in diff(old, new) if c.kind is ChangeKind.MODIFIED)
    assert (modified.old_value, modified.value) == ("one", "two")


def test_diff_of_identical_trees_is_empty_and_from_nothing_creates_everything():
    schema = Schema()
    a, b = tree(schema, ("a", "")), tree(schema, ("a", ""))
    assert diff(a, b) == []
    created = diff(None, a)
    assert [c.kind for c in created] == [ChangeKind.CREATED]
