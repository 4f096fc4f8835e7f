"""RFC 8525 YANG library: the `config` module-set and schema and the datastore list that the
server adds to the `complete` one libyang describes."""

from __future__ import annotations

from lxml import etree

from nnfv_agent.netconf.yanglib import CONVENTIONAL, with_datastores

YL = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
NS = {"yl": YL}


def names(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el]


def module(name: str, revision: str | None = "2020-01-01", tag: str = "module") -> str:
    rev = f"<revision>{revision}</revision>" if revision is not None else ""
    return f"<{tag}><name>{name}</name>{rev}<namespace>urn:{name}</namespace></{tag}>"


def library(*modules: str, schemas: bool = True) -> etree._Element:
    schema = "<schema><name>complete</name><module-set>complete</module-set></schema>"
    return etree.fromstring(
        f'<yang-library xmlns="{YL}"><module-set><name>complete</name>{"".join(modules)}'
        f"</module-set>{schema if schemas else ''}<content-id>1</content-id></yang-library>"
    )


def config_set(lib: etree._Element) -> etree._Element:
    [found] = lib.xpath("yl:module-set[yl:name='config']", namespaces=NS)
    return found


def text(el: etree._Element, path: str) -> list[str]:
    return [str(t) for t in el.xpath(path, namespaces=NS)]


def test_yang_library_gains_a_config_schema_and_the_datastores() -> None:
    library = etree.fromstring(
        f'<yang-library xmlns="{YL}"><module-set><name>complete</name>'
        "<module><name>graph</name><revision>2026-11-22</revision><namespace>urn:g</namespace>"
        "</module><module><name>mon</name><revision>2010-10-04</revision>"
        "<namespace>urn:m</namespace></module><module><name>lib</name><revision>2019-01-04"
        "</revision><namespace>urn:l</namespace></module>"
        "<import-only-module><name>types</name><revision>2013-07-15</revision>"
        "<namespace>urn:t</namespace></import-only-module></module-set>"
        "<schema><name>complete</name><module-set>complete</module-set></schema>"
        "<content-id>1</content-id></yang-library>"
    )
    with_datastores(library, {"graph"}, {"graph": {"types", "lib"}, "lib": set()})
    ns = NS
    config = library.xpath("yl:module-set[yl:name='config']", namespaces=ns)[0]
    assert config.xpath("yl:module/yl:name/text()", namespaces=ns) == ["graph"]
    assert sorted(config.xpath("yl:import-only-module/yl:name/text()", namespaces=ns)) == [
        "lib",
        "types",
    ]
    stores = library.xpath("yl:datastore", namespaces=ns)
    assert [(d[0].text, d[1].text) for d in stores] == [
        ("ds:running", "config"),
        ("ds:candidate", "config"),
        ("ds:startup", "config"),
        ("ds:operational", "complete"),
    ]
    assert names(library) == [
        "module-set",
        "module-set",
        "schema",
        "schema",
        "datastore",
        "datastore",
        "datastore",
        "datastore",
        "content-id",
    ]


def test_config_module_set_follows_imports_transitively_and_only_once() -> None:
    lib = library(module("graph"), module("a"), module("b"), module("c"), module("other"))
    imports = {"graph": {"a"}, "a": {"b", "graph"}, "b": {"c", "a"}, "other": {"graph"}}
    with_datastores(lib, {"graph"}, imports)
    config = config_set(lib)
    assert text(config, "yl:module/yl:name/text()") == ["graph"]
    assert text(config, "yl:import-only-module/yl:name/text()") == ["a", "b", "c"]


def test_module_needed_only_by_import_is_listed_by_name_revision_and_namespace() -> None:
    lib = library(
        "<module><name>lib</name><revision>2019-01-04</revision><namespace>urn:l</namespace>"
        "<feature>f</feature><deviation>d</deviation></module>",
        module("graph"),
    )
    with_datastores(lib, {"graph"}, {"graph": {"lib"}})
    [only] = config_set(lib).findall(f"{{{YL}}}import-only-module")
    assert [(etree.QName(c).localname, c.text) for c in only] == [
        ("name", "lib"),
        ("revision", "2019-01-04"),
        ("namespace", "urn:l"),
    ]


def test_import_only_module_without_a_revision_gets_an_empty_revision() -> None:
    lib = library(module("graph"), module("norev", revision=None))
    with_datastores(lib, {"graph"}, {"graph": {"norev"}})
    [only] = config_set(lib).findall(f"{{{YL}}}import-only-module")
    assert names(only) == ["name", "revision", "namespace"]
    assert only.findtext(f"{{{YL}}}revision") == ""


def test_configuration_module_is_copied_whole_and_the_complete_set_is_left_as_it_was() -> None:
    lib = library(
        "<module><name>graph</name><revision>2026-11-22</revision><namespace>urn:g</namespace>"
        "<feature>vxlan</feature></module>"
    )
    before = etree.tostring(lib.find(f"{{{YL}}}module-set"))
    with_datastores(lib, {"graph"}, {})
    assert text(config_set(lib), "yl:module/yl:feature/text()") == ["vxlan"]
    assert etree.tostring(lib.find(f"{{{YL}}}module-set")) == before


def test_modules_not_in_the_library_are_left_out_of_the_config_set() -> None:
    lib = library(module("graph"))
    with_datastores(lib, {"graph", "gone"}, {"graph": {"absent"}})
    assert text(config_set(lib), "yl:module/yl:name/text()") == ["graph"]
    assert text(config_set(lib), "yl:import-only-module") == []


def test_conventional_datastores_use_config_and_operational_uses_complete() -> None:
    lib = library(module("graph"))
    with_datastores(lib, {"graph"}, {})
    stores = lib.findall(f"{{{YL}}}datastore")
    assert [d.findtext(f"{{{YL}}}name") for d in stores] == [
        *(f"ds:{n}" for n in CONVENTIONAL),
        "ds:operational",
    ]
    assert [d.findtext(f"{{{YL}}}schema") for d in stores] == ["config"] * 3 + ["complete"]
    # The ds: prefix is declared where it is used, so the identityref resolves.
    assert stores[0][0].nsmap["ds"] == "urn:ietf:params:xml:ns:yang:ietf-datastores"


def test_library_without_a_schema_gets_the_config_schema_after_the_module_sets() -> None:
    lib = library(module("graph"), schemas=False)
    with_datastores(lib, {"graph"}, {})
    assert names(lib)[:3] == ["module-set", "module-set", "schema"]
    assert text(lib, "yl:schema/yl:name/text()") == ["config"]


def test_library_without_a_module_set_is_left_unchanged() -> None:
    lib = etree.fromstring(f'<yang-library xmlns="{YL}"><content-id>1</content-id></yang-library>')
    before = etree.tostring(lib)
    with_datastores(lib, {"graph"}, {})
    assert etree.tostring(lib) == before
