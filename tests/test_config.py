"""Configuration errors name the key and the fix."""

import pytest

from kiosk.config import ConfigError, load_config

GOOD = """
[kiosk]
id = "KIOSK-01"
office = "DKP-KUPANG"
data_dir = "data"

[gateway]
url = "https://gateway.example/kiosk"
api_key_file = "api-key"

[tickets]
keys = { "1" = "%s" }

[hardware]
camera = "sim"
""" % ("ab" * 32)


def write(tmp_path, text, key=True):
    if key:
        (tmp_path / "api-key").write_text("secret\n")
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def test_good_config_loads(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.kiosk_id == "KIOSK-01" and cfg.api_key == "secret"
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.ticket_keys == {1: "ab" * 32}


def test_example_config_in_repo_is_valid(tmp_path):
    from pathlib import Path

    text = (Path(__file__).parent.parent / "config" / "kiosk.example.toml").read_text()
    text = text.replace("/etc/loket/api-key", str(tmp_path / "api-key"))
    cfg = load_config(write(tmp_path, text))
    assert cfg.office


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('id = "KIOSK-01"', 'id = ""'), "kiosk.id"),
        (('url = "https://gateway.example/kiosk"', 'url = "gateway.example"'), "gateway.url"),
        (('camera = "sim"', 'camera = "webcam"'), "hardware.camera"),
        (('"1" = "', '"x" = "'), "tickets.keys.x"),
        (("[hardware]", "[flow]\nidle_timeout_s = 2\n[hardware]"), "flow.idle_timeout_s"),
    ],
)
def test_bad_value_names_its_key(tmp_path, change, key):
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, GOOD.replace(*change)))
    assert any(p.startswith(key) for p in exc.value.problems), exc.value.problems


def test_missing_key_file_says_to_provision(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, GOOD, key=False))
    assert "kiosk provision" in str(exc.value)


def test_all_problems_are_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, "[kiosk]\n", key=False))
    assert len(exc.value.problems) >= 4


def test_broken_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[kiosk\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_kiosk_run_with_bad_config_exits_2_and_names_the_key(tmp_path, capsys):
    from kiosk.cli import main

    assert main(["run", "--config", str(write(tmp_path, GOOD.replace('camera = "sim"', 'camera = "x"')))]) == 2
    assert "hardware.camera" in capsys.readouterr().err
