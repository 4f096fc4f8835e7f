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
