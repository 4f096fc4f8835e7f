"""The `ipsec` template: strongSwan (charon-systemd + swanctl) IKEv2/PSK client.

This kernel has no ESP, so the template cannot carry traffic here: the tests cover the
generated configuration, charon loading it, and start refusing cleanly.
"""

from __future__ import annotations

import subprocess
import time

import pytest

PARAMS = {"remote-address": "198.18.4.2", "psk": "s3cret"}


def gen_config(inst) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(inst.template.dir / "scripts" / "gen-config")],
        env=inst.env("start"),
        cwd=inst.workdir,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def kernel_has_esp(lab, ns: str) -> bool:
    """The template's own probe: can an ESP state be added in this namespace?"""
    res = lab.run(
        ns,
        *"ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode tunnel".split(),
        *("enc", "cbc(aes)", "0x000102030405060708090a0b0c0d0e0f"),
        check=False,
    )
    lab.run(ns, "ip", "xfrm", "state", "flush", check=False)
    return res.returncode == 0


def test_gen_config_full(lab):
    params = dict(
        PARAMS,
        **{
            "psk": 'p"s k\\0x',
            "local-id": "cpe1@example.net",
            "remote-id": "vpn.example.net",
            "local-subnet": "192.168.1.0/24",
            "remote-subnet": "10.0.0.0/8, 172.16.0.0/12",
            "out-address": "198.51.100.1/24",
        },
    )
    inst = lab.instance("ipsec", ["in", "out"], params)
    res = gen_config(inst)
    assert res.returncode == 0, res.stderr
    conf = res.stdout
    assert "remote_addrs = 198.18.4.2" in conf
    assert "local_addrs = 198.51.100.1\n" in conf
    assert 'id = "cpe1@example.net"' in conf
    assert 'id = "vpn.example.net"' in conf
    assert "local_ts = 192.168.1.0/24\n" in conf
    assert "remote_ts = 10.0.0.0/8,172.16.0.0/12\n" in conf
    assert "auth = psk" in conf
    secrets = conf[conf.index("secrets {") :]
    assert "ike-nnfv {" in secrets
    assert f"secret = 0x{params['psk'].encode().hex()}" in secrets
    assert 'id-local = "cpe1@example.net"' in secrets
    assert "start_action = start" in conf
    assert conf.count("{") == conf.count("}")


def test_gen_config_defaults_and_refusals(lab):
    inst = lab.instance("ipsec", ["in", "out"], PARAMS)
    conf = gen_config(inst).stdout
    assert "local_addrs = %any" in conf
    assert "local_ts = dynamic" in conf and "remote_ts = dynamic" in conf
    assert f"secret = 0x{b's3cret'.hex()}" in conf
    assert " id = " not in conf

    cases = [
        ({"psk": None}, "psk is mandatory"),
        ({"remote-address": None}, "remote-address is mandatory"),
        ({"remote-address": "10.0.0.1; rm"}, "remote-address"),
        ({"local-subnet": "10.0.0.0"}, "local-subnet"),
        ({"remote-subnet": "10.0.0.0/33"}, "remote-subnet"),
        ({"local-id": 'a"b'}, "local-id"),
        ({"out-address": "198.51.100.1"}, "out-address"),
    ]
    for change, message in cases:
        inst.params = dict(PARAMS)
        for name, value in change.items():
            if value is None:
                inst.params.pop(name)
            else:
                inst.params[name] = value
        res = gen_config(inst)
        assert res.returncode != 0 and message in res.stderr, (change, res.stderr)


def test_start_refuses_cleanly_without_kernel_esp(lab):
    lab.need("swanctl", "charon-systemd")
    inst = lab.instance("ipsec", ["in", "out"], dict(PARAMS, **{"out-address": "198.18.4.1/24"}))
    wan = lab.netns()
    lab.link(inst.ns, "out", wan, "eth0")
    lab.link(inst.ns, "in", lab.netns(), "eth0")
    if kernel_has_esp(lab, inst.ns):
        pytest.skip("this kernel does ESP: the refusal cannot be shown here")
    res = inst.run("start", check=False)
    assert res.returncode != 0
    assert "not ready here: kernel ESP missing" in res.output
    assert lab.pids(inst.ns) == []
    assert not (inst.workdir / "charon.pid").exists()
    assert lab.run(inst.ns, "ip", "xfrm", "state").stdout.strip() == ""
    assert inst.run("status", check=False).returncode != 0
    inst.run("stop")  # stop after a failed start does not fail
    inst.run("stop")


def test_charon_runs_the_generated_config(lab):
    """What start does after its ESP check: charon loads the tunnel and starts IKE."""
    lab.need("swanctl", "charon-systemd")
    params = dict(PARAMS, **{"remote-subnet": "10.10.0.0/16", "local-subnet": "198.18.5.0/24"})
    inst = lab.instance("ipsec", ["in", "out"], params)
    wan = lab.netns()
    lab.link(inst.ns, "out", wan, "eth0")
    lab.host(inst.ns, "out", "198.18.4.1/24")
    lab.host(wan, "eth0", "198.18.4.2/24")
    (inst.workdir / "swanctl.conf").write_text(gen_config(inst).stdout)

    inst.run("start", script="scripts/charon-up")
    pid = int((inst.workdir / "charon.pid").read_text())
    assert pid in lab.pids(inst.ns)
    conns = lab.run(
        inst.ns,
        "env",
        f"STRONGSWAN_CONF={inst.workdir / 'strongswan.conf'}",
        "swanctl",
        "--list-conns",
        "--uri",
        f"unix://{inst.workdir / 'charon.vici'}",
    ).stdout
    assert "nnfv: IKEv2" in conns and "remote: 198.18.4.2" in conns
    assert "local:  198.18.5.0/24" in conns and "remote: 10.10.0.0/16" in conns
    # start_action = start: charon contacts the remote gateway (a test namespace) at once.
    log = inst.workdir / "charon.log"
    for _ in range(50):
        if "to 198.18.4.2[500]" in log.read_text():
            break
        time.sleep(0.1)
    assert "sending packet: from 198.18.4.1[500] to 198.18.4.2[500]" in log.read_text()
    res = inst.run("status", check=False)
    assert res.returncode != 0 and "not established" in res.output

    inst.run("stop")
    assert lab.pids(inst.ns) == []
    assert not (inst.workdir / "charon.vici").exists()
    assert inst.run("status", check=False).returncode != 0
