"""A broken kiosk.toml stops `kiosk run` with exit 2 and one line per problem naming the key and the fix, never
a traceback (issue 13): unknown sections and keys with the nearest known one, every value's type, paths,
unreadable, oversized, non-UTF-8 and non-TOML files. And `kiosk bench fuzz config` finds no crash."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.bench import fuzz_config
from kiosk.cli import main
from kiosk.config import ConfigError, load_config
from kiosk.config.document import Document
from kiosk.config.schema import SCHEMA

EXAMPLE = Path(__file__).parent.parent / "config" / "kiosk.example.toml"
SECRETS = ("api-key", "gateway-ca.crt", "kiosk.crt", "kiosk.key")  # the files the example points at

# Each broken configuration: what is changed in the example (old text, new text; or the file's bytes from the
# example's text), and what stderr must say (the key first).
Edit = tuple[str, str] | Callable[[str], bytes]
BROKEN: list[tuple[str, Edit, tuple[str, ...]]] = [
    ("section typo", ("[hardware]", "[hardwre]"), ("[hardwre] is not a known section", "did you mean [hardware]?")),
    ("section case", ("[display]", "[Display]"), ("[Display]", "did you mean [display]?")),
    ("unknown section", ("[speech]", "[voice]"), ("[voice] is not a known section", "[speech]")),
    ("key typo", ('vault = "gpio"', 'vualt = "gpio"'), ("hardware.vualt", "did you mean vault?")),
    ("key in the wrong table", ("[ops]", 'listen = "x"\n[ops]'), ("policy.listen", "belongs under [ops]")),
    ("key at the top", ("[kiosk]", 'office = "X"\n[kiosk]'), ("office: not a known key at the top", "[kiosk]")),
    (
        "table as a value",
        lambda t: ("face = 0.55\n" + t.replace("[face]\nthreshold", "#")).encode(),
        ("face: 0.55 must be a table", "a [face] line"),
    ),
    ("number as text", ('office = "DKP-KUPANG"', "office = 42"), ("kiosk.office: 42 is not text", 'office = "')),
    ("quoted bool", ("fullscreen = true", 'fullscreen = "false"'), ("display.fullscreen", "fullscreen = false")),
    ("bool as a number", ("seat_active_low = true", "seat_active_low = 1"), ("gpio.seat_active_low",)),
    ("quoted flag", ("require_liveness = true", 'require_liveness = "yes"'), ("policy.require_liveness",)),
    ("fraction for a count", ("vault_slots = 24", "vault_slots = 2.9"), ("hardware.vault_slots: 2.9", "= 3")),
    ("float for a count", ("max_face_attempts = 3", "max_face_attempts = 3.0"), ("flow.max_face_attempts",)),
    ("fraction of volume", ("volume = 80", "volume = 80.5"), ("speech.volume",)),
    ("quoted number", ("timeout_s = 5", 'timeout_s = "5"'), ("gateway.timeout_s", "timeout_s = 5")),
    ("not a number", ("threshold = 0.55", "threshold = nan"), ("face.threshold: nan",)),
    ("infinite timeout", ("idle_timeout_s = 60", "idle_timeout_s = inf"), ("flow.idle_timeout_s",)),
    ("timeout out of range", ("idle_timeout_s = 60", "idle_timeout_s = 2"), ("flow.idle_timeout_s",)),
    ("beyond 64 bits", ("rotation = 0", "rotation = 0x7fffffffffffffffff"), ("display.rotation", "64-bit")),
    ("beyond 64 bits, decimal", ("timeout_s = 5", "timeout_s = 99999999999999999999"), ("gateway.timeout_s",)),
    ("slots out of range", ("vault_slots = 24", "vault_slots = 0"), ("hardware.vault_slots",)),
    ("camera number", ("camera_device = 0", "camera_device = 1.5"), ("hardware.camera_device",)),
    ("camera out of range", ("camera_device = 0", "camera_device = -1"), ("hardware.camera_device",)),
    ("a time as TOML time", ('night_start = "22:00"', "night_start = 22:00:00"), ("display.night_start",)),
    ("superscript hour", ('night_end = "06:00"', 'night_end = "0²:00"'), ("display.night_end",)),
    ("superscript port", ('listen = "127.0.0.1:9101"', 'listen = "127.0.0.1:²"'), ("ops.listen",)),
    ("api key file a number", ('api_key_file = "', 'api_key_file = 5\n#"'), ("gateway.api_key_file: 5",)),
    ("atr list a list", ("atr_list = ", 'atr_list = ["x"]\n#'), ("hardware.atr_list",)),
    ("atr list a number", ("atr_list = ", "atr_list = 7\n#"), ("hardware.atr_list",)),
    ("early tolerance beyond an hour", ("early_s = 900", "early_s = 7200"), ("tickets.early_s: 7200",)),
    ("late tolerance as text", ("late_s = 120", 'late_s = "2m"'), ("tickets.late_s",)),
    ("NUL in a path", ('ca_file = "', 'ca_file = "a\\u0000b"\n#'), ("gateway.ca_file", "NUL")),
    ("tab in a name", ('reader_name = ""', 'reader_name = "a\\tb"'), ("hardware.reader_name", "control character")),
    ("over-long path", ('data_dir = "/var/lib/loket"', 'data_dir = "' + "a/" * 2100 + '"'), ("kiosk.data_dir",)),
    ("over-long name", ('client_cert = "', 'client_cert = "/' + "c" * 300 + '"\n#'), ("gateway.client_cert", "255")),
    ("list of mixed", ('nik_sources = ["chip", "ocr",', 'nik_sources = ["chip", 5,'), ("policy.nik_sources[1]",)),
    ("keys not a table", ("keys = {", 'keys = "abc"\n#'), ("tickets.keys",)),
    ("key not text", ('keys = { "1" = "0', 'keys = { "1" = 5 }\n# "0'), ("tickets.keys.1",)),
    ("superscript key id", ('keys = { "1"', 'keys = { "²"'), ("tickets.keys",)),
    ("operators a table", ("[[operators]]", "[operators]"), ("operators: a table must be a list of tables",)),
    ("operator field typo", ('name = "Petugas', 'nmae = "Petugas'), ("operators[0].nmae", "did you mean name?")),
    ("operator uid a number", ('card_uid = "04A1B2C3D4E5F6"', "card_uid = 4"), ("operators[0].card_uid",)),
    ("pin a fraction", ('door = "GPIO26"', "door = 2.5"), ("gpio.door: 2.5 is not a pin",)),
    ("slot field typo", ('seat = "GPIO19"', 'seet = "GPIO19"'), ("gpio.slots[1].seet", "did you mean seat?")),
    ("slot not a table", ('{ gate = "GPIO13", seat = "GPIO19" }', "5"), ("gpio.slots[1]: 5 must be a table",)),
    ("player unquoted", ("rate_wpm = 150", 'rate_wpm = 150\nplayer = "aplay \\"x"'), ("speech.player", "quote")),
    ("printer profile", ('printer_profile = "TM-T20II"', 'printer_profile = "NOPE"'), ("hardware.printer_profile",)),
    ("not UTF-8", lambda text: text.encode().replace(b"KIOSK-01", b"KIOSK-\xff1"), ("line 5: not UTF-8",)),
    ("TOML syntax", lambda text: text.replace("[kiosk]", "[kiosk").encode(), ("not valid TOML", "line 4")),
    ("too big", lambda text: (text + "#" + "x" * (2 << 20)).encode(), ("larger than",)),
    ("nested too deeply", lambda text: (text + "\nx = " + "[" * 5000).encode(), ("nested too deeply",)),
    ("integer of 5000 digits", lambda text: (text + "\nx = " + "9" * 5000).encode(), ("not valid TOML",)),
    ("empty file", lambda text: b"", ("kiosk.id: missing", "gateway.url: missing")),
]


def example_text(folder: Path) -> str:
    """The example configuration, its secrets in `folder` (it loads as it is)."""
    for name in SECRETS:
        (folder / name).write_text("secret\n")
    return EXAMPLE.read_text().replace("/etc/loket/", f"{folder}/")


def broken_file(folder: Path, edit: Edit) -> Path:
    text = example_text(folder)
    if callable(edit):
        data = edit(text)
    else:
        assert edit[0] in text, f"the example no longer has {edit[0]!r}"
        data = text.replace(edit[0], edit[1], 1).encode()
    path = folder / "kiosk.toml"
    path.write_bytes(data)
    return path


def run_refused(capsys: pytest.CaptureFixture[str], config: Path) -> list[str]:
    """`kiosk run --config` on a broken file: exit 2, and the lines it printed (each after the file's path)."""
    assert main(["run", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert lines and all(line.startswith(f"{config}: ") for line in lines), lines
    return lines


def test_there_are_at_least_thirty_broken_configurations():
    assert len(BROKEN) >= 30 and len({name for name, _, _ in BROKEN}) == len(BROKEN)


def test_the_example_loads_as_it_is(tmp_path):
    (tmp_path / "kiosk.toml").write_text(example_text(tmp_path))
    assert load_config(tmp_path / "kiosk.toml").hardware.vault == "gpio"


def test_the_tickets_early_and_late_tolerance_is_the_configured_one(tmp_path):
    """[tickets] early_s and late_s are the window verify_ticket applies (docs/ticket-format.md)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.identity.ticket import Service, Ticket, TicketReason, issue_ticket, verify_ticket

    text = example_text(tmp_path).replace("early_s = 900", "early_s = 30").replace("late_s = 120", "late_s = 0")
    (tmp_path / "kiosk.toml").write_text(text)
    window = load_config(tmp_path / "kiosk.toml").ticket_window
    assert (window.early_s, window.late_s) == (30, 0)
    key = Ed25519PrivateKey.generate()
    ticket = issue_ticket(key, 1, b"12345678", Service.PICKUP, "DKP-KUPANG", "5371046508900001", 1000, 2000)
    keys = {1: key.public_key()}
    assert isinstance(verify_ticket(ticket, keys, "DKP-KUPANG", 970, window=window), Ticket)
    early = verify_ticket(ticket, keys, "DKP-KUPANG", 969, window=window)
    late = verify_ticket(ticket, keys, "DKP-KUPANG", 2000.5, window=window)
    assert getattr(early, "reason", None) == TicketReason.NOT_YET_VALID
    assert getattr(late, "reason", None) == TicketReason.EXPIRED


@pytest.mark.parametrize(("edit", "expected"), [(e, x) for _, e, x in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_a_broken_config_stops_kiosk_run_with_exit_2_naming_the_key(tmp_path, capsys, edit, expected):
    lines = run_refused(capsys, broken_file(tmp_path, edit))
    said = "\n".join(lines)
    for text in expected:
        assert text in said, said


def test_a_missing_file_and_a_folder_are_config_errors(tmp_path, capsys):
    assert "file not found; copy config/kiosk.example.toml" in run_refused(capsys, tmp_path / "nope.toml")[0]
    (tmp_path / "folder.toml").mkdir()
    assert "cannot be read" in run_refused(capsys, tmp_path / "folder.toml")[0]


@pytest.mark.parametrize(("content", "why"), [(b"\xff\xfe\x00", "not UTF-8 text"), (None, "not a file")])
def test_an_api_key_file_that_is_not_a_small_text_file_names_the_key(tmp_path, capsys, content, why):
    config = broken_file(tmp_path, lambda text: text.encode())
    key = tmp_path / "api-key"
    key.unlink()
    if content is None:
        key.mkdir()
    else:
        key.write_bytes(content)
    (line,) = run_refused(capsys, config)
    assert "gateway.api_key_file: cannot read" in line and why in line


def test_a_wrong_type_is_said_once_not_again_as_missing(tmp_path, capsys):
    (line,) = run_refused(capsys, broken_file(tmp_path, ('office = "DKP-KUPANG"', "office = 42")))
    assert "missing" not in line
    (line,) = run_refused(capsys, broken_file(tmp_path, ('seat = "GPIO19"', 'seet = "GPIO19"')))
    assert "did you mean seat?" in line


def test_typos_no_longer_start_the_kiosk_on_the_simulated_vault(tmp_path, capsys):
    """The issue's case: `[hardwre] vault = "gpio"` used to start with the simulated vault."""
    lines = run_refused(capsys, broken_file(tmp_path, ("[hardware]", "[hardwre]")))
    assert len(lines) == 1, "the keys of the misspelt section are not also reported one by one"


def test_a_broken_config_stops_the_real_command_without_a_traceback(tmp_path):
    config = broken_file(tmp_path, ('ca_file = "', 'ca_file = "a\\u0000b"\n#'))
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "run", "--config", str(config)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith(f"{config}: gateway.ca_file:"), done.stderr


def test_selftest_refuses_a_broken_config_the_same_way(tmp_path, capsys):
    config = broken_file(tmp_path, ('vault = "gpio"', 'vualt = "gpio"'))
    assert main(["selftest", "--config", str(config)]) == 2
    assert "hardware.vualt: not a known key of [hardware]; did you mean vault?" in capsys.readouterr().err


def test_a_reader_cannot_read_a_key_the_schema_does_not_declare():
    with pytest.raises(KeyError):
        Document({}).get("hardware.vualt")


def test_every_declared_key_of_the_plain_tables_is_read(tmp_path, monkeypatch):
    """A declared key nobody reads would be accepted and ignored, as a typo was before."""
    asked: set[str] = set()
    get = Document.get

    def noting(self: Document, key: str) -> object:
        asked.add(key)
        return get(self, key)

    monkeypatch.setattr(Document, "get", noting)
    (tmp_path / "kiosk.toml").write_text(example_text(tmp_path))
    load_config(tmp_path / "kiosk.toml")
    read_as_tables = {"gpio", "operators"}  # their readers take the table's keys from the table itself
    declared = {f"{s}.{k}" for s, key in SCHEMA.items() if s not in read_as_tables for k in key.fields}
    assert declared - asked == set()


def test_the_fuzz_bench_finds_no_crash(capsys):
    assert main(["bench", "fuzz", "config", "--inputs", "300", "--seed", "3", "--json"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    result = json.loads(line)
    assert result["inputs"] == 300 and result["crashes"] == 0 and result["crash_examples"] == []
    assert result["rejected"] + result["accepted"] == 300 and result["rejected"] > result["accepted"]
    assert {"inputs_per_second", "seconds", "seed"} <= set(result)


def test_the_fuzz_bench_counts_a_crash_and_exits_1(capsys, monkeypatch):
    calls = [0]

    def flaky(path: Path) -> None:
        calls[0] += 1
        if calls[0] == 1:
            return  # the unbroken example loads
        if calls[0] % 10 == 0:
            raise KeyError("a reader's bug")
        raise ConfigError(["x: broken"])

    monkeypatch.setattr(fuzz_config, "load_config", flaky)
    assert main(["bench", "fuzz", "config", "--inputs", "40"]) == 1
    out = capsys.readouterr().out
    assert "crashes                 4" in out and "KeyError" in out
