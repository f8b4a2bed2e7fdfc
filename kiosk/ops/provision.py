"""`kiosk provision`: from a technician's enrolment file to a kiosk that can start.

The enrolment file (TOML, on the boot partition for the first-boot unit) names the kiosk, the gateway
and a one-time token from the admins. Provisioning makes the kiosk's private keys (0600, never leave
the kiosk: one for mutual TLS, with a certificate request, and one signing its journal heads, whose
public half the gateway keeps to check them), spends the token at the gateway, and writes: the API key (0600),
the kiosk's certificate, the gateway's CA to pin, and kiosk.toml with the queue system's ticket keys and
the hardware pin map of docs/wiring.md. The written config is loaded back before anything is reported
done. Bad input names the key and the fix; nothing but the two private keys is written before the
gateway accepted the token.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.config import ConfigError, KioskConfig, load_config, read_toml
from kiosk.gateway.client import GatewayBadAnswer, GatewayRefused, GatewayUnavailable
from kiosk.gateway.client import enrol as gateway_enrol
from kiosk.gateway.head import HeadSigner
from kiosk.gateway.pki import make_csr
from kiosk.store.secret_files import tighten, write_secret

KIOSK_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
UPDATE_KEY = re.compile(r"[0-9a-f]{64}")  # an Ed25519 public key: field updates signed by it are accepted
SSH_KEY = re.compile(
    r"^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ssh-rsa) [A-Za-z0-9+/=]{60,1000}( [ -~]{0,100})?$"
)
MAX_SSH_KEYS = 20

log = logging.getLogger(__name__)
SERVICE_USER = "loket"  # the kiosk unit's User= (systemd/loket.sysusers.conf)
HARDWARE = {
    "kiosk": """camera = "opencv"
camera_device = 0
reader = "pcsc"
vault = "gpio"
indicators = "gpio"
printer = "escpos"
printer_device = "usb://04b8:0e15"
printer_profile = "TM-T20II"

[gpio]
door = "GPIO26"
led = "GPIO12"
buzzer = "GPIO16"
slots = [
  { gate = "GPIO5",  seat = "GPIO6" },
  { gate = "GPIO13", seat = "GPIO19" },
  { gate = "GPIO17", seat = "GPIO27" },
  { gate = "GPIO22", seat = "GPIO23" },
  { gate = "GPIO24", seat = "GPIO25" },
  { gate = "GPIO20", seat = "GPIO21" },
]
""",
    "sim": """camera = "sim"
reader = "sim"
vault = "sim"
printer = "sim"
""",
}


class ProvisionError(RuntimeError):
    """Provisioning stopped; the message says what to do."""


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment file says: the kiosk, its gateway, the one-time token and the CA to pin; and,
    optionally, the technicians' SSH keys, the management address of /metrics and /healthz, and the
    hardware ("sim": a demo or test kiosk without devices)."""

    kiosk_id: str
    gateway_url: str
    token: str
    ca_file: Path | None
    ssh_keys: tuple[str, ...] = ()
    ops_listen: str | None = None
    hardware: str | None = None
    update_keys: tuple[str, ...] = ()  # public keys (64 hex digits) whose signed field updates it accepts


def read_enrolment(path: Path) -> Enrolment:
    """The technician's enrolment file, checked key by key."""
    data = read_toml(path, "no enrolment file; the admins send one per kiosk")
    problems: list[str] = []
    kiosk_id = str(data.get("kiosk_id", "")).strip()
    if not KIOSK_ID.match(kiosk_id):
        problems.append(f'kiosk_id: {kiosk_id!r} must be 3-32 capitals, digits or dashes, e.g. kiosk_id = "KUPANG-03"')
    url = str(data.get("gateway_url", "")).strip()
    loopback = url.startswith(("http://127.0.0.1", "http://localhost"))
    if not (url.startswith("https://") or loopback):
        problems.append(f"gateway_url: {url!r} must be the gateway's https:// address")
    token = str(data.get("token", "")).strip()
    if not token:
        problems.append("token: missing; ask the admins for this kiosk's one-time enrolment token")
    ca_file: Path | None = None
    if data.get("ca_file"):
        ca_file = Path(str(data["ca_file"]))
        if not ca_file.is_absolute():
            ca_file = path.parent / ca_file
        if not ca_file.is_file():
            problems.append(f"ca_file: {ca_file} is not a file; copy the gateway CA next to the enrolment file")
    elif not loopback:
        problems.append("ca_file: missing; the gateway's CA certificate must come with the enrolment file")
    ssh_keys = _ssh_keys(data.get("ssh_keys", []), problems)
    update_keys = _update_keys(data.get("update_keys", []), problems)
    ops_listen: str | None = None
    if "ops_listen" in data:
        ops_listen = str(data["ops_listen"]).strip()
        if not _is_ipv4_listen(ops_listen):
            problems.append(
                f'ops_listen: {ops_listen!r} must be the management address, e.g. ops_listen = "10.20.0.5:9101"'
            )
    hardware = None
    if "hardware" in data:
        hardware = str(data["hardware"]).strip()
        if hardware not in HARDWARE:
            problems.append(
                f"hardware: {hardware!r} must be one of {', '.join(HARDWARE)} (sim: a demo kiosk without devices)"
            )
    if problems:
        raise ConfigError(problems)
    return Enrolment(kiosk_id, url.rstrip("/"), token, ca_file, ssh_keys, ops_listen, hardware, update_keys)


def _is_ipv4_listen(text: str) -> bool:
    """Whether `text` is an IPv4 address and a port, as ADDRESS:PORT (the management interface's own address)."""
    host, _, port = text.rpartition(":")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536


def _ssh_keys(value: object, problems: list[str]) -> tuple[str, ...]:
    """The technicians' public SSH keys, one OpenSSH line each; what is wrong noted in `problems`."""
    if not isinstance(value, list) or len(value) > MAX_SSH_KEYS:
        problems.append(
            f"ssh_keys: must be a list of at most {MAX_SSH_KEYS} public keys, "
            'e.g. ssh_keys = ["ssh-ed25519 AAAA... name"]'
        )
        return ()
    keys = []
    for i, key in enumerate(value):
        text = str(key).strip()
        if not SSH_KEY.match(text):
            problems.append(f"ssh_keys[{i}]: not one OpenSSH public key line (ssh-ed25519 AAAA... name)")
        keys.append(text)
    return tuple(keys)


def _update_keys(value: object, problems: list[str]) -> tuple[str, ...]:
    """The field-update signing keys (`kiosk update make-key` prints one); what is wrong noted in `problems`."""
    if not isinstance(value, list) or len(value) > MAX_SSH_KEYS:
        problems.append(
            f"update_keys: must be a list of at most {MAX_SSH_KEYS} public keys of 64 hex digits, "
            'e.g. update_keys = ["3b6a27bc..."] (kiosk update make-key prints one)'
        )
        return ()
    keys = tuple(str(key).strip().lower() for key in value)
    for i, key in enumerate(keys):
        if not UPDATE_KEY.fullmatch(key):
            problems.append(f"update_keys[{i}]: not 64 hex digits (kiosk update make-key prints one)")
    return keys


def provision(
    enrol_path: Path,
    config_path: Path,
    data_dir: Path = Path("/var/lib/loket"),
    hardware: str = "kiosk",
    service_user: str = SERVICE_USER,
) -> KioskConfig:
    """Enrol this kiosk and write its configuration; returns the configuration as loaded back. Run as root
    (the provisioning unit), the secrets are given to `service_user`, who runs the kiosk and must read
    them, and kiosk.toml to root with that user's group (0640)."""
    if hardware not in HARDWARE:
        raise ConfigError([f"--hardware: {hardware!r} is not one of {', '.join(HARDWARE)}"])
    enrol = read_enrolment(enrol_path)
    hardware = enrol.hardware or hardware
    owner = service_account(service_user)
    try:
        return _provision(enrol, config_path, data_dir, hardware, owner)
    except PermissionError as exc:
        raise ProvisionError(
            f"cannot write or hand over {exc.filename or 'a file'} ({exc.strerror}): run kiosk provision as root, "
            "as loket-provision.service does (it keeps CAP_CHOWN for this)"
        ) from exc


def _provision(
    enrol: Enrolment, config_path: Path, data_dir: Path, hardware: str, owner: tuple[int, int] | None
) -> KioskConfig:
    secrets_dir = config_path.parent
    secrets_dir.mkdir(parents=True, exist_ok=True)
    key_path, csr = make_csr(secrets_dir, enrol.kiosk_id)
    journal_key = HeadSigner.make_key_file(secrets_dir / "journal.key")  # kept if re-provisioned
    answer = _spend_token(enrol, csr, journal_key)
    tls = _write_credentials(secrets_dir, key_path, enrol, answer, None)
    _make_seal_key(secrets_dir / "seal.key", None)
    _write_ssh_keys(secrets_dir / "ssh", enrol.ssh_keys)
    _write_update_keys(secrets_dir / "update-keys", enrol.update_keys)
    cfg = _install_config(config_path, _config_text(enrol, answer, secrets_dir, data_dir, tls, hardware))
    os.chmod(config_path, 0o640)
    if owner is not None:
        # the secrets are root's until kiosk.toml has been loaded back (which reads the API key): the unit
        # keeps only CAP_CHOWN, so root cannot read a file once it is the kiosk's (found on a booted image)
        for secret in (key_path, secrets_dir / "journal.key", secrets_dir / "api-key", secrets_dir / "seal.key"):
            os.chown(secret, *owner)
        os.chown(config_path, 0, owner[1])
    return cfg


def service_account(name: str) -> tuple[int, int] | None:
    """(uid, gid) of the account the kiosk runs as, when this process may give files to it (root) and the
    account exists; else None (a technician's own run: the files stay theirs)."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        log.warning("no account %r (systemd/loket.sysusers.conf makes it): the files stay root's", name)
        return None
    return account.pw_uid, account.pw_gid


def _make_seal_key(path: Path, owner: tuple[int, int] | None) -> None:
    """The key sealing face templates at rest: made here, where /etc/loket is writable (the kiosk's unit
    reads it only). Provisioning again keeps it (the templates in the store are sealed with it)."""
    with contextlib.suppress(FileExistsError):
        write_secret(path, AESGCM.generate_key(bit_length=256), replace=False, owner=owner)
    tighten(path)
    if owner is not None:
        os.chown(path, *owner)


def _write_ssh_keys(folder: Path, keys: tuple[str, ...]) -> None:
    """The technicians' keys where sshd looks for them (image-build/files/sshd-loket.conf: root's, 0644 in a
    0755 folder, as sshd's StrictModes wants); none given: none written, and an old list is kept."""
    if not keys:
        return
    folder.mkdir(mode=0o755, exist_ok=True)
    os.chmod(folder, 0o755)
    tmp = folder / "technician.keys.new"
    tmp.write_text("".join(f"{k}\n" for k in keys))
    os.chmod(tmp, 0o644)
    tmp.replace(folder / "technician.keys")


def _write_update_keys(folder: Path, keys: tuple[str, ...]) -> None:
    """The field-update keys where `kiosk update apply` looks besides the image's (root's, 0644); none
    given: none written, and keys written before are kept."""
    if not keys:
        return
    folder.mkdir(mode=0o755, exist_ok=True)
    for i, key in enumerate(keys):
        tmp = folder / f"enrolment-{i}.pub.new"
        tmp.write_text(f"{key}\n")
        os.chmod(tmp, 0o644)
        tmp.replace(folder / f"enrolment-{i}.pub")


def _spend_token(enrol: Enrolment, csr: str, journal_key: str) -> dict[str, Any]:
    """Spend the token at the gateway's /v1/enrol with the certificate request; its answer (checked against
    the contract), or why not, said for the technician."""
    try:
        return gateway_enrol(
            enrol.gateway_url, enrol.token, enrol.kiosk_id, csr, journal_key=journal_key, ca_file=enrol.ca_file
        )
    except GatewayRefused as exc:
        if exc.status == 401:
            raise ProvisionError(
                "the enrolment token was refused (unknown or already used): ask the admins for a new one"
            ) from exc
        if exc.status == 403:
            raise ProvisionError(f"the token belongs to another kiosk: {exc.message[:200]}") from exc
        raise ProvisionError(
            f"the gateway refused the enrolment ({exc.status} {exc.code}): {exc.message[:200]}"
        ) from exc
    except GatewayBadAnswer as exc:
        raise ProvisionError(
            f"the gateway at {enrol.gateway_url} answered something that is not an enrolment ({exc}); "
            "check gateway_url points at the Dukcapil kiosk gateway"
        ) from exc
    except GatewayUnavailable as exc:
        raise ProvisionError(
            f"the gateway at {enrol.gateway_url} cannot be reached ({exc}); "
            "check the network and gateway_url, then run kiosk provision again"
        ) from exc


def _write_credentials(
    secrets_dir: Path, key_path: Path, enrol: Enrolment, answer: dict[str, Any], owner: tuple[int, int] | None
) -> str:
    """Write the API key, the kiosk's certificate and the gateway CA; returns their [gateway] TLS lines."""
    write_secret(secrets_dir / "api-key", answer["api_key"] + "\n", owner=owner)
    tls = ""
    if answer.get("client_cert"):
        (secrets_dir / "kiosk.crt").write_text(answer["client_cert"])
        tls += f'client_cert = "{secrets_dir / "kiosk.crt"}"\nclient_key = "{key_path}"\n'
    ca_text = answer.get("ca_cert") or (enrol.ca_file.read_text() if enrol.ca_file else "")
    if ca_text:
        (secrets_dir / "gateway-ca.crt").write_text(ca_text)
        tls += f'ca_file = "{secrets_dir / "gateway-ca.crt"}"\n'
    return tls


def _config_text(
    enrol: Enrolment, answer: dict[str, Any], secrets_dir: Path, data_dir: Path, tls: str, hardware: str
) -> str:
    """The kiosk.toml for this kiosk: identity, gateway, the queue system's ticket keys and the hardware map."""
    keys = ", ".join(f'"{kid}" = "{hexkey}"' for kid, hexkey in sorted(answer["ticket_keys"].items()))
    ops = f'\n[ops]\nlisten = "{enrol.ops_listen}"\n' if enrol.ops_listen else ""
    return f"""# Written by `kiosk provision` for {enrol.kiosk_id}. Keys are explained in config/kiosk.example.toml.
[kiosk]
id = "{enrol.kiosk_id}"
office = "{answer["office_id"]}"
data_dir = "{data_dir}"
language = "id"
seal_key_file = "{secrets_dir / "seal.key"}"
journal_key_file = "{secrets_dir / "journal.key"}"

[gateway]
url = "{enrol.gateway_url}"
api_key_file = "{secrets_dir / "api-key"}"
{tls}
[tickets]
keys = {{ {keys} }}
{ops}
[hardware]
{HARDWARE[hardware]}"""


def _install_config(config_path: Path, text: str) -> KioskConfig:
    """Write kiosk.toml beside its place, load it back, and only then move it there."""
    tmp = config_path.with_suffix(".toml.new")
    tmp.write_text(text)
    try:
        cfg = load_config(tmp)
    except ConfigError:
        tmp.unlink()
        raise
    tmp.replace(config_path)
    return cfg
