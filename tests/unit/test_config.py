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
