"""RFC 8525 YANG library: which datastores the server has, and which modules each holds.

libyang describes its context as one module-set and schema, `complete`. The server adds:

- a module-set and schema `config`, for the conventional datastores (running, candidate,
  startup): the modules that define configuration, with what they import;
- the `datastore` list: the conventional datastores use `config`, operational uses
  `complete` (every implemented module, configuration and state).
"""

from __future__ import annotations

import copy

from lxml import etree

from ..xmlutil import DS, YANGLIB, qn

CONVENTIONAL = ("running", "candidate", "startup")


def _imported(modules: set[str], imports: dict[str, set[str]]) -> set[str]:
    """What `modules` import, transitively, leaving out `modules` themselves."""
    needed: set[str] = set()
    todo = list(modules)
    while todo:
        for name in imports.get(todo.pop(), set()):
            if name not in needed and name not in modules:
                needed.add(name)
                todo.append(name)
    return needed


def _config_module_set(
    complete: etree._Element, config_modules: set[str], needed: set[str]
) -> etree._Element:
    """The `config` module-set: the configuration modules, and what they need import-only."""
    config_set = etree.Element(qn(YANGLIB, "module-set"))
    etree.SubElement(config_set, qn(YANGLIB, "name")).text = "config"
    modules = complete.findall(qn(YANGLIB, "module"))
    for module in modules:
        if _name(module) in config_modules:
            config_set.append(copy.deepcopy(module))
    for module in modules:
        if _name(module) in needed:
            only = etree.SubElement(config_set, qn(YANGLIB, "import-only-module"))
            for tag in ("name", "revision", "namespace"):
                source = module.find(qn(YANGLIB, tag))
                if source is not None or tag == "revision":
                    value = "" if source is None else source.text
                    etree.SubElement(only, qn(YANGLIB, tag)).text = value
    for module in complete.findall(qn(YANGLIB, "import-only-module")):
        if _name(module) in needed:
            config_set.append(copy.deepcopy(module))
    return config_set


def with_datastores(
    library: etree._Element, config_modules: set[str], imports: dict[str, set[str]]
) -> None:
    """Add the `config` module-set and schema and the datastore list to <yang-library>.

    `config_modules` are the modules with configuration nodes; `imports` maps each module to
    the modules it imports (transitively closed here).
    """
    complete = library.find(qn(YANGLIB, "module-set"))
    if complete is None:
        return
    config_set = _config_module_set(complete, config_modules, _imported(config_modules, imports))
    complete.addnext(config_set)

    schemas = library.findall(qn(YANGLIB, "schema"))
    schema = etree.Element(qn(YANGLIB, "schema"))
    etree.SubElement(schema, qn(YANGLIB, "name")).text = "config"
    etree.SubElement(schema, qn(YANGLIB, "module-set")).text = "config"
    (schemas[-1] if schemas else config_set).addnext(schema)

    anchor = schema
    for name, uses in [*((n, "config") for n in CONVENTIONAL), ("operational", "complete")]:
        datastore = etree.Element(qn(YANGLIB, "datastore"))
        etree.SubElement(datastore, qn(YANGLIB, "name"), nsmap={"ds": DS}).text = f"ds:{name}"
        etree.SubElement(datastore, qn(YANGLIB, "schema")).text = uses
        anchor.addnext(datastore)
        anchor = datastore


def _name(module: etree._Element) -> str:
    return module.findtext(qn(YANGLIB, "name")) or ""
