import re

import pytest

from nnfv_agent.config import ConfigError, hash_password, load, parse_listen, verify_password


def test_password_hash_verifies_only_the_right_password():
    stored = hash_password("s3cret", iterations=1000)
    assert verify_password("s3cret", stored)
    assert not verify_password("S3cret", stored)
    assert not verify_password("s3cret", "garbage")


def test_config_file_sets_listen_state_users_and_limits(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text(
        'listen = "[::1]:8300"\nstate_dir = "/x"\nmax_sessions = 3\n'
        '[[users]]\nname = "ops"\nauthorized_keys = "ssh-ed25519 AAAA k"\n'
    )
    cfg = load(path)
    assert (cfg.listen_host, cfg.listen_port, cfg.max_sessions) == ("::1", 8300, 3)
    assert str(cfg.state_dir) == "/x" and cfg.host_key_path.name == "ssh_host_ecdsa_key"
    assert cfg.user("ops").authorized_keys == ["ssh-ed25519 AAAA k"]


@pytest.mark.parametrize(
    "body",
    [
        "bogus = 1\n",
        "max_sessions = 0\n",
        '[[users]]\npw = "x"\n',
        'listen = "nohost"\n',
        "not toml [",
    ],
)
def test_bad_config_raises_config_error_with_reason(tmp_path, body):
    path = tmp_path / "a.toml"
    path.write_text(body)
    with pytest.raises(ConfigError):
        load(path)


def test_parse_listen_rejects_missing_port():
    with pytest.raises(ConfigError):
        parse_listen("127.0.0.1")


def test_config_file_sets_every_limit(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text(
        "max_startups = 5\nmax_startups_per_source = 2\nlogin_grace_time = 12\n"
        "hello_timeout = 7.5\nfailed_login_delay = 0\nfailed_login_max_delay = 3\n"
        "max_message_elements = 1000\nxpath_timeout = 2\nxpath_max_memory = 1048576\n"
        "notification_queue = 16\n"
    )
    cfg = load(path)
    assert (cfg.max_startups, cfg.max_startups_per_source) == (5, 2)
    assert (cfg.login_grace_time, cfg.hello_timeout) == (12.0, 7.5)
    assert (cfg.failed_login_delay, cfg.failed_login_max_delay) == (0.0, 3.0)
    assert (cfg.max_message_elements, cfg.xpath_timeout, cfg.xpath_max_memory) == (
        1000,
        2.0,
        1048576,
    )
    assert cfg.notification_queue == 16


def test_default_limits_leave_room_for_twenty_sessions_on_a_small_cpe():
    cfg = load(None)
    assert cfg.max_sessions > 20
    assert cfg.max_message_size <= 4 * 1024 * 1024


@pytest.mark.parametrize(
    "body",
    [
        "max_startups = 0\n",
        "notification_queue = true\n",
        'hello_timeout = "soon"\n',
        "xpath_timeout = -1\n",
    ],
)
def test_bad_limit_raises_config_error(tmp_path, body):
    path = tmp_path / "a.toml"
    path.write_text(body)
    with pytest.raises(ConfigError):
        load(path)


def test_listen_port_in_superscript_digits_is_refused():
    with pytest.raises(ConfigError):
        parse_listen("127.0.0.1:\u00b2\u00b2")


def test_config_file_sets_supervision_and_restart_policy_defaults(tmp_path):
    cfg_file = tmp_path / "agent.toml"
    cfg_file.write_text(
        "supervise_interval = 1.5\nrestart_min_interval = 0.5\nrestart_max_interval = 60\n"
        'restart_multiplier = "3"\nrestart_max_count = 0\nrestart_reset_time = 120\n'
        "restart_auto = false\nrollback_retry_min = 2\nrollback_retry_max = 30\n"
    )
    cfg = load(cfg_file)
    assert (cfg.supervise_interval, cfg.restart_min_interval, cfg.restart_max_interval) == (
        1.5,
        0.5,
        60.0,
    )
    assert (cfg.restart_multiplier, cfg.restart_max_count, cfg.restart_reset_time) == (3, 0, 120)
    assert cfg.restart_auto is False
    assert (cfg.rollback_retry_min, cfg.rollback_retry_max) == (2.0, 30.0)


@pytest.mark.parametrize(
    "body",
    [
        "supervise_interval = 0",
        "restart_multiplier = 0.5",
        "restart_min_interval = -1",
        'restart_max_count = "many"',
        'restart_auto = "yes"',
    ],
)
def test_bad_supervision_setting_raises_config_error(tmp_path, body):
    cfg_file = tmp_path / "agent.toml"
    cfg_file.write_text(body + "\n")
    with pytest.raises(ConfigError):
        load(cfg_file)


def _call_home(tmp_path, body: str):
    path = tmp_path / "a.toml"
    path.write_text(body)
    return load(path).call_home


def test_call_home_defaults_to_persistent_on_port_4334(tmp_path):
    (peer,) = _call_home(tmp_path, '[[call_home]]\nname = "oss"\naddress = "192.0.2.10"\n')
    assert (peer.name, peer.address, peer.port, peer.strategy) == (
        "oss",
        "192.0.2.10",
        4334,
        "persistent",
    )
    assert (peer.retry_interval, peer.max_retry_interval, peer.backoff) == (5.0, 300.0, 2.0)
    assert peer.label == "oss (192.0.2.10:4334)"


def test_call_home_lists_several_management_systems_with_their_strategies(tmp_path):
    peers = _call_home(
        tmp_path,
        '[[call_home]]\nname = "oss"\naddress = "2001:db8::1"\nport = 4335\n'
        "retry_interval = 1\nmax_retry_interval = 60\nbackoff = 1.5\njitter = 0\n"
        '[[call_home]]\nname = "inventory"\naddress = "nms.example.net"\n'
        'strategy = "periodic"\nperiod = 900\nidle_timeout = 0\n',
    )
    assert [(p.name, p.strategy) for p in peers] == [
        ("oss", "persistent"),
        ("inventory", "periodic"),
    ]
    assert (peers[0].port, peers[0].backoff, peers[0].jitter) == (4335, 1.5, 0.0)
    assert peers[0].label == "oss ([2001:db8::1]:4335)"
    assert (peers[1].period, peers[1].idle_timeout) == (900.0, 0.0)


def test_no_call_home_section_means_no_calls(tmp_path):
    assert _call_home(tmp_path, "max_sessions = 3\n") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('call_home = "x"\n', "list of tables"),
        ('[[call_home]]\nname = "oss"\n', "address"),
        ('[[call_home]]\naddress = "h"\nport = 0\n', "port must be"),
        ('[[call_home]]\naddress = "h"\nport = "830"\n', "port must be"),
        ('[[call_home]]\naddress = "h"\nstrategy = "sometimes"\n', "strategy must be"),
        ('[[call_home]]\naddress = "h"\nretry_interval = 0\n', "retry_interval must be more"),
        ('[[call_home]]\naddress = "h"\nretry_interval = "5s"\n', "number of seconds"),
        ('[[call_home]]\naddress = "h"\nbackoff = 0.5\n', "backoff must be 1"),
        ('[[call_home]]\naddress = "h"\njitter = 1\n', "jitter"),
        (
            '[[call_home]]\naddress = "h"\nretry_interval = 10\nmax_retry_interval = 5\n',
            "at least retry_interval",
        ),
        ('[[call_home]]\naddress = "h"\nperiod = 60\n', "only apply to the periodic"),
        (
            '[[call_home]]\naddress = "h"\nstrategy = "periodic"\nbackoff = 2\n',
            "only apply to the persistent",
        ),
        ('[[call_home]]\naddress = "h"\nidle_timeout = -1\n', "only apply"),
        (
            '[[call_home]]\naddress = "h"\nstrategy = "periodic"\nidle_timeout = -1\n',
            "idle_timeout must be 0 or more",
        ),
        ('[[call_home]]\naddress = "h"\nrety_interval = 5\n', "unknown settings: rety_interval"),
        (
            '[[call_home]]\nname = "a"\naddress = "h"\n[[call_home]]\nname = "a"\naddress = "i"\n',
            "two [[call_home]] entries are named 'a'",
        ),
    ],
)
def test_bad_call_home_entry_is_refused_with_a_message_naming_the_problem(tmp_path, body, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _call_home(tmp_path, body)
