"""Configuration errors name the key and the fix."""

from pathlib import Path

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
ca_file = "gateway-ca.crt"

[tickets]
keys = { "1" = "%s" }

[hardware]
camera = "sim"
""" % ("ab" * 32)


def write(tmp_path, text, key=True):
    if key:
        (tmp_path / "api-key").write_text("secret\n")
    for name in ("gateway-ca.crt", "kiosk.crt", "kiosk.key"):  # contents are checked when TLS starts
        (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n")
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
    text = text.replace("/etc/loket/", str(tmp_path) + "/")
    cfg = load_config(write(tmp_path, text))
    assert cfg.office
    assert cfg.gateway_ca_file == tmp_path / "gateway-ca.crt"
    assert cfg.gateway_client_cert == (tmp_path / "kiosk.crt", tmp_path / "kiosk.key")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('ca_file = "gateway-ca.crt"', ""), "gateway.ca_file: missing; the gateway's CA must be pinned"),
        (('ca_file = "gateway-ca.crt"', 'ca_file = "nope.crt"'), "is not a file"),
        (('ca_file = "gateway-ca.crt"', 'ca_file = "gateway-ca.crt"\nclient_cert = "kiosk.crt"'), "give both"),
        (("https://gateway.example/kiosk", "http://gateway.example/kiosk"), "plain HTTP to another machine"),
    ],
)
def test_tls_settings_are_checked(tmp_path, change, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD.replace(*change)))
    assert any(expected in p for p in err.value.problems), err.value.problems


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


GPIO = """
[gpio]
door = "GPIO26"
led = "GPIO12"
buzzer = "GPIO16"
slots = [
  { gate = "GPIO5", seat = "GPIO6" },
  { gate = "GPIO13", seat = "GPIO19" },
]
"""


def test_gpio_pin_map_loads_and_sets_the_slot_count(tmp_path):
    text = GOOD.replace('camera = "sim"', 'camera = "sim"\nvault = "gpio"\nindicators = "gpio"') + GPIO
    cfg = load_config(write(tmp_path, text))
    assert cfg.hardware.vault == "gpio" and cfg.hardware.vault_slots == 2
    assert cfg.hardware.gpio is not None and cfg.hardware.gpio.slots[1].seat == "GPIO19"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('"GPIO19"', '"BOARD31"'), "gpio.slots[1].seat: 'BOARD31' (= GPIO6) is already used by gpio.slots[0].seat"),
        (('"GPIO19"', '"BOARD2"'), "gpio.slots[1].seat: 'BOARD2' is not usable (BOARD2 is not a GPIO pin)"),
        (('led = "GPIO12"', 'led = "GPIO99"'), "gpio.led: 'GPIO99' is not usable"),
        (('buzzer = "GPIO16"', ""), "gpio.buzzer: missing"),
        (('{ gate = "GPIO13", seat = "GPIO19" }', '{ gate = "GPIO13" }'), "gpio.slots[1]: needs gate and seat pins"),
        (("[gpio]", "[gpio]\nsettle_s = 9"), "gpio.settle_s: 9 must be a number of seconds from 0.02 to 5"),
    ],
)
def test_bad_pin_map_names_the_key(tmp_path, change, expected):
    text = GOOD.replace('camera = "sim"', 'camera = "sim"\nvault = "gpio"') + GPIO.replace(*change)
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


def test_gpio_vault_without_a_pin_map_says_what_to_add(tmp_path):
    with pytest.raises(ConfigError, match=r"gpio: missing; hardware.vault or hardware.indicators is gpio"):
        load_config(write(tmp_path, GOOD.replace('camera = "sim"', 'camera = "sim"\nvault = "gpio"')))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ('printer = "escpos"', "hardware.printer_device: missing for the escpos printer"),
        ('printer = "escpos"\nprinter_device = "/dev/usb/lp0"\nprinter_profile = "NOPE"', "'NOPE' is not a python"),
        ('printer = "escpos"\nprinter_device = "/dev/usb/lp0"\nprinter_profile = "POS-5890"', "has no cutter"),
        ('printer = "escpos"\nprinter_device = "/dev/usb/lp0"\nprinter_qr = "laser"', "hardware.printer_qr: 'laser'"),
    ],
)
def test_bad_printer_config_names_the_key(tmp_path, lines, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD.replace('camera = "sim"', 'camera = "sim"\n' + lines)))
    assert any(expected in p for p in err.value.problems), err.value.problems


@pytest.mark.skipif(Path("/proc/device-tree/model").exists(), reason="this machine may have real GPIO")
def test_kiosk_run_with_gpio_off_a_pi_exits_2_and_says_why(tmp_path, capsys, monkeypatch):
    from kiosk.cli import main

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    text = GOOD.replace('camera = "sim"', 'camera = "sim"\nvault = "gpio"') + GPIO
    assert main(["run", "--config", str(write(tmp_path, text))]) == 2
    assert "hardware.vault: this machine's GPIO cannot be driven" in capsys.readouterr().err


def test_ops_listen_is_checked(tmp_path):
    cfg = load_config(write(tmp_path, GOOD + '\n[ops]\nlisten = "10.0.0.5:9101"\n'))
    assert cfg.ops_listen == ("10.0.0.5", 9101)
    with pytest.raises(ConfigError, match=r"ops\.listen: '9101' must be host:port"):
        load_config(write(tmp_path, GOOD + '\n[ops]\nlisten = "9101"\n'))
