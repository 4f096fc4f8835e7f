import pytest

from nnfv_agent.commit.resolver import ResolveError, resolve
from nnfv_agent.model.graph import NF
from nnfv_agent.model.template import Template


def tpl(name, ftype="firewall", vnf="native", origin="shipped", deps=()):
    return Template(
        name,
        ftype,
        "file:///x.tgz",
        "0" * 64,
        vnf,
        False,
        ("in", "out"),
        (("start", "s"), ("stop", "t")),
        tuple(deps),
        origin=origin,
    )


def nf(ftype="firewall", template=None, flavour="any"):
    return NF("fw", None if template else ftype, template, flavour, ("in", "out"), ())


NOT_READY = {"nft-less": "missing capability: executable nft"}


def readiness(t):
    return NOT_READY.get(t.name)


@pytest.mark.parametrize(
    ("templates", "request_nf", "chosen"),
    [
        ([tpl("fw-a")], nf(), "fw-a"),
        # A template an operator configured wins over a shipped one of the same type.
        ([tpl("shipped"), tpl("mine", origin="configured")], nf(), "mine"),
        # A template that is not ready is skipped for one that is.
        ([tpl("nft-less", origin="configured"), tpl("ok")], nf(), "ok"),
        # A specific template is used as asked, whatever else provides the type.
        ([tpl("fw-a"), tpl("fw-b")], nf(template="fw-b"), "fw-b"),
        # A flavour preference skips templates of other flavours.
        (
            [tpl("dock", vnf="docker", origin="configured"), tpl("nat1")],
            nf(flavour="native"),
            "nat1",
        ),
        # "any" falls back from a flavour this node cannot run to the native one.
        ([tpl("dock", vnf="docker", origin="configured"), tpl("nat1")], nf(), "nat1"),
    ],
)
def test_resolver_chooses_the_implementation(templates, request_nf, chosen):
    result = resolve("g", request_nf, {t.name: t for t in templates}, readiness)
    assert result.name == chosen


@pytest.mark.parametrize(
    ("templates", "request_nf", "message"),
    [
        ([], nf("dpi"), "missing capability: no template provides functional type 'dpi'"),
        ([tpl("nft-less")], nf(), "nft-less: missing capability: executable nft"),
        ([tpl("dock", vnf="docker")], nf(), "execution environment docker"),
        ([tpl("fw-a")], nf(flavour="vm"), "fw-a is native, not vm"),
        ([tpl("fw-a")], nf(template="nope"), "no template named 'nope'"),
    ],
)
def test_resolver_refuses_naming_the_missing_capability(templates, request_nf, message):
    with pytest.raises(ResolveError) as err:
        resolve("g", request_nf, {t.name: t for t in templates}, readiness)
    assert message in str(err.value)
    assert "NF g/fw" in str(err.value)
