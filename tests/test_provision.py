"""`kiosk provision` and `kiosk selftest` against the real gateway (kiosk.sim.office) over mutual TLS."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.gateway.client import GatewayClient
from kiosk.gateway.head import read_public_key
from kiosk.gateway.pki import make_csr
from kiosk.sim.office import Office
from kiosk.store.sealed import Sealer
from kiosk.store.secret_files import write_secret
from tests.pki_kit import issue, make_ca, signing_ca


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[Office, str, Path]]:
    sim = Office(tmp_path / "gw.db", seed=2, today=dt.date(2026, 11, 23))
    sim.start()
    ca = make_ca(tmp_path / "gw-pki")
    server = issue(ca, tmp_path / "gw-pki", "gateway", server_names=("127.0.0.1",))
    sim.sign_enrolments(signing_ca(ca))
    url = sim.start_tls(server.cert, server.key, client_ca=ca.cert)
    yield sim, url, ca.cert
    sim.close()


def enrolment(folder: Path, kiosk_id: str, url: str, token: str, ca: Path | None, *extra: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f'kiosk_id = "{kiosk_id}"', f'gateway_url = "{url}"', f'token = "{token}"', *extra]
    if ca is not None:
        (folder / "gateway-ca.crt").write_bytes(ca.read_bytes())
        lines.append('ca_file = "gateway-ca.crt"')
    path = folder / "loket-enrol.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_provision_enrols_and_writes_a_config_that_works(gateway, tmp_path: Path, capsys) -> None:
    sim, url, ca = gateway
    token = sim.issue_enrolment_token("KUPANG-03")
    enrol = enrolment(tmp_path / "boot", "KUPANG-03", url, token, ca)
    config = tmp_path / "etc" / "kiosk.toml"
    args = ["provision", "--enrol", str(enrol), "--config", str(config), "--data-dir", str(tmp_path / "data")]
    assert main([*args, "--hardware", "sim"]) == 0
    assert "KUPANG-03" in capsys.readouterr().out
    cfg = load_config(config)
    assert cfg.kiosk_id == "KUPANG-03" and cfg.ticket_keys == {sim.ticket_key_id: sim.ticket_public_key_hex}
    for secret in ("api-key", "kiosk.key"):
        assert stat.S_IMODE((config.parent / secret).stat().st_mode) == 0o600, secret
    assert cfg.gateway_client_cert is not None and cfg.gateway_ca_file is not None
    client = GatewayClient(
        cfg.gateway_url, cfg.kiosk_id, cfg.api_key, ca_file=cfg.gateway_ca_file, client_cert=cfg.gateway_client_cert
    )
    assert client.manifest() is not None, "the new kiosk talks to the gateway over mutual TLS with its new key"
    client.close()
    # the token is spent
    assert main([*args, "--hardware", "sim"]) == 1
    assert "refused (unknown or already used)" in capsys.readouterr().err
    # and the kiosk hardware profile writes a config that validates too (pin map of docs/wiring.md)
    token = sim.issue_enrolment_token("KUPANG-04")
    enrol4 = enrolment(tmp_path / "boot4", "KUPANG-04", url, token, ca)
    assert main(["provision", "--enrol", str(enrol4), "--config", str(tmp_path / "etc4" / "kiosk.toml")]) == 0
    assert load_config(tmp_path / "etc4" / "kiosk.toml").hardware.vault == "gpio"


@pytest.mark.parametrize(
    ("kiosk_id", "token", "with_ca", "expected"),
    [
        ("kupang 3", "x", True, "kiosk_id: 'kupang 3' must be 3-32 capitals"),
        ("KUPANG-03", "", True, "token: missing; ask the admins"),
        ("KUPANG-03", "x", False, "ca_file: missing; the gateway's CA certificate"),
    ],
)
def test_bad_enrolment_files_name_the_key(gateway, tmp_path: Path, capsys, kiosk_id, token, with_ca, expected) -> None:
    _, url, ca = gateway
    enrol = enrolment(tmp_path / "boot", kiosk_id, url, token, ca if with_ca else None)
    assert main(["provision", "--enrol", str(enrol), "--config", str(tmp_path / "etc" / "kiosk.toml")]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "etc" / "kiosk.toml").exists(), "nothing is written from bad input"


TECHNICIAN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9ydGhldGVjaG5pY2lhbnNvbmx5MDAw budi@dukcapil"


def test_the_enrolment_file_carries_technician_keys_the_management_address_and_the_hardware(
    gateway, tmp_path: Path
) -> None:
    sim, url, ca = gateway
    token = sim.issue_enrolment_token("KUPANG-05")
    extra = (f'ssh_keys = ["{TECHNICIAN_KEY}"]', 'ops_listen = "10.20.0.5:9101"', 'hardware = "sim"')
    enrol = enrolment(tmp_path / "boot", "KUPANG-05", url, token, ca, *extra)
    config = tmp_path / "etc" / "kiosk.toml"
    assert main(["provision", "--enrol", str(enrol), "--config", str(config), "--data-dir", str(tmp_path / "d")]) == 0
    cfg = load_config(config)
    assert cfg.ops_listen == ("10.20.0.5", 9101) and cfg.hardware.vault == "sim", "no --hardware: the file's"
    keys = config.parent / "ssh" / "technician.keys"
    assert keys.read_text() == TECHNICIAN_KEY + "\n"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o644 and stat.S_IMODE(keys.parent.stat().st_mode) == 0o755


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('ssh_keys = ["ssh-ed25519 short"]', "ssh_keys[0]: not one OpenSSH public key line"),
        ('ssh_keys = "ssh-ed25519 AAAA"', "ssh_keys: must be a list"),
        ('ops_listen = "0.0.0.0"', "ops_listen: '0.0.0.0' must be the management address"),
        ('ops_listen = "10.1.2.300:9101"', "ops_listen: '10.1.2.300:9101'"),
        ('hardware = "qemu"', "hardware: 'qemu' must be one of kiosk, sim"),
    ],
)
def test_bad_optional_enrolment_keys_are_named(gateway, tmp_path: Path, capsys, line: str, expected: str) -> None:
    sim, url, ca = gateway
    enrol = enrolment(tmp_path / "boot", "KUPANG-06", url, sim.issue_enrolment_token("KUPANG-06"), ca, line)
    assert main(["provision", "--enrol", str(enrol), "--config", str(tmp_path / "etc" / "kiosk.toml")]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "etc").exists(), "nothing is written from bad input"


def test_a_token_for_another_kiosk_is_refused(gateway, tmp_path: Path, capsys) -> None:
    sim, url, ca = gateway
    token = sim.issue_enrolment_token("KUPANG-09")
    enrol = enrolment(tmp_path / "boot", "KUPANG-03", url, token, ca)
    assert main(["provision", "--enrol", str(enrol), "--config", str(tmp_path / "etc" / "kiosk.toml")]) == 1
    assert "belongs to another kiosk" in capsys.readouterr().err


def test_selftest_reports_every_part_and_fails_when_the_gateway_does(gateway, tmp_path: Path, capsys) -> None:
    sim, url, ca = gateway
    enrol = enrolment(tmp_path / "boot", "KUPANG-05", url, sim.issue_enrolment_token("KUPANG-05"), ca)
    config = tmp_path / "etc" / "kiosk.toml"
    data = tmp_path / "data"
    assert (
        main(
            ["provision", "--enrol", str(enrol), "--config", str(config), "--data-dir", str(data), "--hardware", "sim"]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["selftest", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    for part in ("camera", "reader", "vault", "printer", "gateway", "store", "disk"):
        assert f"OK   {part}" in out, out
    sim.faults.down = True
    assert main(["selftest", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "FAIL gateway" in out and "check the link" in out


def test_doctor_names_the_config_problem_then_checks_the_parts(gateway, tmp_path: Path, capsys) -> None:
    sim, url, ca = gateway
    enrol = enrolment(tmp_path / "boot", "KUPANG-06", url, sim.issue_enrolment_token("KUPANG-06"), ca)
    config = tmp_path / "etc" / "kiosk.toml"
    args = ["provision", "--enrol", str(enrol), "--config", str(config), "--data-dir", str(tmp_path / "data")]
    assert main([*args, "--hardware", "sim"]) == 0
    capsys.readouterr()
    assert main(["doctor", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "every key is valid" in out and "OK   gateway" in out
    config.write_text(config.read_text().replace('camera = "sim"', 'camera = "webcam"'))
    assert main(["doctor", "--config", str(config)]) == 1
    assert "FAIL hardware.camera: 'webcam' is not one of sim, opencv" in capsys.readouterr().out


# -- secrets are 0600 whatever was there before (issue 13) ---------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def readable_by_all(path: Path, text: str = "old secret\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o644)
    return path


def test_a_secret_rewritten_over_a_0644_file_is_0600(tmp_path: Path) -> None:
    path = readable_by_all(tmp_path / "etc" / "api-key")
    write_secret(path, "new secret\n")
    assert mode(path) == 0o600 and path.read_text() == "new secret\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["api-key"], "no temporary file is left behind"


def test_a_secret_is_0600_under_any_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_secret(tmp_path / "seal.key", b"k" * 32)
    finally:
        os.umask(old)
    assert mode(tmp_path / "seal.key") == 0o600


def test_a_secret_written_over_a_symlink_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    target = readable_by_all(tmp_path / "elsewhere" / "notes.txt", "not a secret\n")
    link = tmp_path / "etc" / "api-key"
    link.parent.mkdir()
    link.symlink_to(target)
    write_secret(link, "new secret\n")
    assert not link.is_symlink() and mode(link) == 0o600 and link.read_text() == "new secret\n"
    assert target.read_text() == "not a secret\n" and mode(target) == 0o644


def test_a_secret_that_must_not_replace_keeps_the_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "seal.key"
    write_secret(path, b"first", replace=False)
    with pytest.raises(FileExistsError):
        write_secret(path, b"second", replace=False)
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["seal.key"]


def test_private_keys_rewritten_over_0644_files_are_0600(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    for name in ("ca.key", "gateway.key", "kiosk.key"):
        readable_by_all(pki / name)
    ca = make_ca(pki)
    server = issue(ca, pki, "gateway", server_names=("127.0.0.1",))
    key_path, csr = make_csr(pki, "KUPANG-03")
    for path in (ca.key, server.key, key_path):
        assert mode(path) == 0o600, path
        assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----"), path
    assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")


def test_the_sealing_key_is_made_0600_and_an_existing_0644_one_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "seal.key"
    first = Sealer.from_file(path)
    assert mode(path) == 0o600 and len(path.read_bytes()) == 32
    path.chmod(0o644)
    again = Sealer.from_file(path)
    assert mode(path) == 0o600, "an existing key others could read is tightened"
    assert again.open(first.seal(b"template", "C1"), "C1") == b"template", "the same key, not a new one"


def test_provisioning_over_0644_secrets_leaves_them_0600(gateway, tmp_path: Path) -> None:
    """A kiosk provisioned again (a new token after a repair) over files a technician copied in 0644."""
    sim, url, ca = gateway
    config = tmp_path / "etc" / "kiosk.toml"
    for secret in ("api-key", "kiosk.key"):
        readable_by_all(config.parent / secret)
    enrol = enrolment(tmp_path / "boot", "KUPANG-07", url, sim.issue_enrolment_token("KUPANG-07"), ca)
    args = ["provision", "--enrol", str(enrol), "--config", str(config), "--data-dir", str(tmp_path / "data")]
    assert main([*args, "--hardware", "sim"]) == 0
    for secret in ("api-key", "kiosk.key"):
        assert mode(config.parent / secret) == 0o600, secret
        assert (config.parent / secret).read_text() != "old secret\n", secret
    assert load_config(config).api_key == (config.parent / "api-key").read_text().strip()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another account needs root, as the provisioning unit")
def test_provisioning_as_root_gives_the_secrets_to_the_kiosks_service_user(gateway, tmp_path: Path) -> None:
    """The provisioning unit runs as root, the kiosk as its own user: that user must own what it reads
    (the API key, its TLS key, the sealing key, all 0600), and kiosk.toml is root's with its group (0640)."""
    from kiosk.ops.provision import provision

    sim, url, ca = gateway
    service = pwd.getpwnam("nobody")
    enrol = enrolment(tmp_path / "boot", "KUPANG-05", url, sim.issue_enrolment_token("KUPANG-05"), ca)
    config = tmp_path / "etc" / "kiosk.toml"
    provision(enrol, config, tmp_path / "data", "sim", service_user="nobody")
    for secret in ("api-key", "kiosk.key", "seal.key"):
        st = (config.parent / secret).stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (service.pw_uid, service.pw_gid, 0o600), secret
    st = config.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, service.pw_gid, 0o640)
    assert load_config(config).seal_key_path == config.parent / "seal.key"


HARDLINKS = Path("/proc/sys/fs/protected_hardlinks")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not HARDLINKS.exists() or HARDLINKS.read_text() != "1\n",
    reason="needs root, setpriv and fs.protected_hardlinks=1 (Debian's default)",
)
def test_a_key_made_once_is_given_to_the_service_user_with_only_cap_chown(tmp_path: Path) -> None:
    """As loket-provision.service runs it: root with CAP_CHOWN alone. The journal key is made without
    replacing one (a hard link) and given to the kiosk's user; under protected_hardlinks root may not link a
    file it already gave away, nor read it back once given (the first booted image's provisioning failed on
    both), so it is given away once linked and its public half comes from memory."""
    code = (
        "import sys; from pathlib import Path; from kiosk.gateway.head import HeadSigner; "
        "print(HeadSigner.make_key_file(Path(sys.argv[1]), owner=(65534, 65534)))"
    )
    key = tmp_path / "journal.key"
    done = subprocess.run(
        ["setpriv", "--bounding-set=-all,+chown", sys.executable, "-c", code, str(key)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    info = key.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o600)
    assert [p.name for p in tmp_path.iterdir()] == ["journal.key"], "no temporary file left"
    assert done.stdout.strip() == read_public_key(key), "the public half printed is the key's in the file"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not HARDLINKS.exists() or HARDLINKS.read_text() != "1\n",
    reason="needs root, setpriv and fs.protected_hardlinks=1 (Debian's default)",
)
def test_provisioning_with_only_cap_chown_as_its_unit_runs_it(gateway, tmp_path: Path) -> None:
    """The whole provisioning as loket-provision.service runs it, root with CAP_CHOWN alone: it loads the
    kiosk.toml it wrote back (reading the API key) before the secrets become the kiosk user's, which root
    without CAP_DAC_OVERRIDE could not read (the booted image's provisioning failed so)."""
    sim, url, ca = gateway
    enrol = enrolment(tmp_path / "boot", "KUPANG-06", url, sim.issue_enrolment_token("KUPANG-06"), ca)
    config = tmp_path / "etc" / "kiosk.toml"
    code = (
        "import sys; from pathlib import Path; from kiosk.ops.provision import provision; "
        "provision(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), 'sim', service_user='nobody')"
    )
    args = [str(enrol), str(config), str(tmp_path / "data")]
    done = subprocess.run(
        ["setpriv", "--bounding-set=-all,+chown", sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    service = pwd.getpwnam("nobody")
    for secret in ("api-key", "kiosk.key", "seal.key", "journal.key"):
        st = (config.parent / secret).stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (service.pw_uid, 0o600), secret


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_the_kiosk_opens_its_journal_key_in_a_folder_it_may_not_write(tmp_path: Path) -> None:
    """As loket-kiosk.service sees /etc/loket: readable, not writable. An existing journal key is only read
    (the booted image's kiosk tried to make one anyway, and died with EACCES at every start)."""
    from kiosk.gateway.head import HeadSigner

    folder = tmp_path / "etc"
    folder.mkdir()
    public = HeadSigner.make_key_file(folder / "journal.key")
    folder.chmod(0o555)
    code = (
        "import sys; from pathlib import Path; from kiosk.gateway.head import HeadSigner; "
        "print(HeadSigner.from_file('KUPANG-07', Path(sys.argv[1])).public_key)"
    )
    try:
        done = subprocess.run(
            ["setpriv", "--bounding-set=-all", sys.executable, "-c", code, str(folder / "journal.key")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == public
