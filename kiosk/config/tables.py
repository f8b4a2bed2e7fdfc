"""Readers of kiosk.toml's tables, one each: [kiosk], [gateway], [tickets], [policy], [flow], [face],
[ops] and [[operators]]. Each reads its keys from a Document and notes what is wrong there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.config.document import Document, is_file, is_hex, read_bounded
from kiosk.config.schema import shown_name
from kiosk.flow.machine import FlowConfig
from kiosk.flow.policy import NIK_SOURCES, Policy
from kiosk.identity.operator import Operator, valid_pin_hash
from kiosk.identity.ticket import CLOCK_SKEW_S, EARLY_S, TicketWindow

LOOPBACK_HTTP = ("http://127.0.0.1", "http://localhost", "http://[::1]")


@dataclass(frozen=True)
class KioskTable:
    """[kiosk]: who this kiosk is, where it keeps its data, and the language it starts in."""

    kiosk_id: str
    office: str
    data_dir: Path
    language: str
    seal_key_file: Path | None
    journal_key_file: Path | None


@dataclass(frozen=True)
class GatewayTable:
    """[gateway]: where the gateway is, how the kiosk proves itself to it and how it checks the gateway."""

    url: str
    api_key: str
    ca_file: Path | None
    client_cert: tuple[Path, Path] | None


def read_kiosk(doc: Document) -> KioskTable:
    """[kiosk]: id, office, data_dir (relative to the file), language, seal_key_file and journal_key_file."""
    kiosk_id = doc.need_str("kiosk.id")
    office = doc.need_str("kiosk.office")
    data_dir = doc.path(doc.need_str("kiosk.data_dir") or ".")
    language = doc.choice("kiosk.language", ("id", "en"), "id")
    seal_key = doc.get("kiosk.seal_key_file")
    seal_key_file = Path(seal_key) if isinstance(seal_key, str) and seal_key else None
    journal_key = doc.get("kiosk.journal_key_file")
    journal_key_file = Path(journal_key) if isinstance(journal_key, str) and journal_key else None
    return KioskTable(kiosk_id, office, data_dir, language, seal_key_file, journal_key_file)


def read_gateway(doc: Document) -> GatewayTable:
    """[gateway]: url, the pinned CA and client certificate, and the API key (timeout_s: read_gateway_timeout)."""
    url = doc.need_str("gateway.url")
    if url and not url.startswith(("http://", "https://")):
        doc.problem(f"gateway.url: '{url}' must start with https:// (or http:// for a loopback simulator)")
    elif url.startswith("http://") and not url.startswith(LOOPBACK_HTTP):
        doc.problem(f"gateway.url: '{url}' is plain HTTP to another machine; use https:// with gateway.ca_file")
    tls = _tls_paths(doc)
    if url.startswith("https://") and "ca_file" not in tls:
        doc.problem("gateway.ca_file: missing; the gateway's CA must be pinned (written by 'kiosk provision')")
    if ("client_cert" in tls) != ("client_key" in tls):
        doc.problem("gateway.client_cert, gateway.client_key: give both (this kiosk's certificate and its key)")
    api_key = _api_key(doc)
    client_cert = (tls["client_cert"], tls["client_key"]) if "client_cert" in tls and "client_key" in tls else None
    return GatewayTable(url, api_key, tls.get("ca_file"), client_cert)


def _tls_paths(doc: Document) -> dict[str, Path]:
    """gateway.ca_file, client_cert and client_key: those given, each of which must be a file."""
    paths: dict[str, Path] = {}
    for key in ("ca_file", "client_cert", "client_key"):
        value = doc.get(f"gateway.{key}")
        if value is None:
            continue
        path = doc.path(value)
        if not is_file(path):
            doc.problem(f"gateway.{key}: {path} is not a file; 'kiosk provision' writes it")
        paths[key] = path
    return paths


MAX_API_KEY_BYTES = 4096


def _api_key(doc: Document) -> str:
    """The API key: read from gateway.api_key_file (a small UTF-8 file), else gateway.api_key."""
    api_key = doc.get("gateway.api_key")
    key_file = doc.get("gateway.api_key_file")
    if key_file:
        path = doc.path(key_file)
        try:
            if not is_file(path):
                raise FileNotFoundError(2, "not a file")
            raw = read_bounded(path, MAX_API_KEY_BYTES)
            if len(raw) > MAX_API_KEY_BYTES:
                raise OSError(0, f"larger than {MAX_API_KEY_BYTES} bytes")
            api_key = raw.decode("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            doc.problem(f"gateway.api_key_file: cannot read {path} ({why}); run 'kiosk provision'")
            api_key = "unreadable"
    if not api_key:
        doc.problem("gateway.api_key_file: missing; point it at the file written by 'kiosk provision'")
    return str(api_key)


def read_gateway_timeout(doc: Document) -> float:
    """gateway.timeout_s: how long one gateway call may take."""
    return doc.number("gateway.timeout_s", 5, 0.5, 60)


def read_ticket_keys(doc: Document) -> dict[int, str]:
    """[tickets] keys: the queue system's Ed25519 public keys by key ID."""
    keys: dict[int, str] = {}
    raw_keys = doc.get("tickets.keys")
    if not isinstance(raw_keys, dict) or not raw_keys:
        doc.problem('tickets.keys: missing; add the queue system\'s public keys, e.g. keys = { "1" = "<64 hex>" }')
        return keys
    for kid, hexkey in raw_keys.items():
        ok_id = kid.isascii() and kid.isdigit() and len(kid) <= 5 and int(kid) < 65536
        ok_key = isinstance(hexkey, str) and len(hexkey) == 64 and is_hex(hexkey)
        if not (ok_id and ok_key):
            doc.problem(f"tickets.keys.{shown_name(kid)}: key IDs are numbers 0-65535 and keys 64 hex digits (Ed25519)")
        else:
            keys[int(kid)] = hexkey
    return keys


def read_ticket_window(doc: Document) -> TicketWindow:
    """[tickets] early_s and late_s: how far before its start and after its end a ticket is still taken."""
    early = doc.number("tickets.early_s", EARLY_S, 0, 3600)
    late = doc.number("tickets.late_s", CLOCK_SKEW_S, 0, 1800)
    return TicketWindow(early, late)


def read_policy(doc: Document) -> Policy:
    """[policy]: which ways of establishing the NIK a pickup accepts, and whether liveness must pass."""
    sources = doc.get("policy.nik_sources")
    if sources is None:
        sources = list(NIK_SOURCES)
    if not isinstance(sources, list) or not sources or any(s not in NIK_SOURCES for s in sources):
        doc.problem(f"policy.nik_sources: {sources!r} must be a non-empty list of {', '.join(NIK_SOURCES)}")
        sources = list(NIK_SOURCES)
    liveness = doc.get("policy.require_liveness")
    if liveness is not None and not isinstance(liveness, bool):
        doc.problem("policy.require_liveness: must be true or false")
        liveness = True
    return Policy(tuple(sources), True if liveness is None else liveness)


def read_flow(doc: Document, policy: Policy, release_timeout_s: float) -> FlowConfig:
    """[flow]: the journey's timeouts and attempts; a release waits 15 s longer than the vault's own timeout."""
    flow = FlowConfig(
        idle_timeout_s=doc.number("flow.idle_timeout_s", 60, 15, 600),
        warn_before_s=doc.number("flow.warn_before_s", 15, 5, 120),
        face_timeout_s=doc.number("flow.face_timeout_s", 90, 15, 600),
        busy_timeout_s=doc.number("flow.busy_timeout_s", 30, 5, 300),
        release_timeout_s=release_timeout_s + 15,
        done_timeout_s=doc.number("flow.done_timeout_s", 30, 5, 600),
        max_face_attempts=doc.whole("flow.max_face_attempts", 3, 1, 10),
        policy=policy,
    )
    if flow.warn_before_s >= flow.idle_timeout_s:
        doc.problem("flow.warn_before_s: must be shorter than flow.idle_timeout_s")
    return flow


def read_face_threshold(doc: Document) -> float:
    """[face] threshold: the face distance below which it is the same person."""
    return doc.number("face.threshold", 0.55, 0.3, 0.7)


def read_ops_listen(doc: Document) -> tuple[str, int] | None:
    """[ops] listen: host:port of /metrics and /healthz ("" turns them off)."""
    listen = doc.get("ops.listen")
    if listen is None:
        return ("127.0.0.1", 9101)
    host, _, port = str(listen).rpartition(":")
    if listen == "":
        return None
    if not host or not (port.isascii() and port.isdigit() and len(port) <= 5) or not 0 < int(port) < 65536:
        doc.problem(f'ops.listen: {listen!r} must be host:port, e.g. "10.0.0.5:9101" (the management interface)')
        return ("127.0.0.1", 9101)
    return (host.strip("[]"), int(port))


def read_operators(doc: Document) -> tuple[Operator, ...]:
    """[[operators]] entries: name, card_uid (hex), pin_hash (from `kiosk operator-pin`)."""
    raw = doc.data.get("operators", [])
    if not isinstance(raw, list):
        doc.problem("operators: must be a list of [[operators]] tables")
        return ()
    found: list[Operator] = []
    for i, entry in enumerate(raw):
        key = f"operators[{i}]"
        if not isinstance(entry, dict):
            doc.problem(f"{key}: must be a table with name, card_uid and pin_hash")
            continue
        name, uid, pin_hash = entry.get("name"), entry.get("card_uid"), entry.get("pin_hash")
        uid_ok = isinstance(uid, str) and len(uid) in (8, 14, 20) and is_hex(uid)
        hash_ok = isinstance(pin_hash, str) and valid_pin_hash(pin_hash)
        if not isinstance(name, str) or not name.strip():
            doc.problem(f"{key}.name: missing; the staff member's name, as it should appear in the journal")
        if not uid_ok:
            doc.problem(f"{key}.card_uid: {uid!r} is not a chip UID (8, 14 or 20 hex digits, e.g. from 'kiosk doctor')")
        if not hash_ok:
            doc.problem(f"{key}.pin_hash: not a PIN hash; make one with 'kiosk operator-pin' (never the PIN itself)")
        if isinstance(name, str) and isinstance(uid, str) and uid_ok and isinstance(pin_hash, str) and hash_ok:
            if any(o.card_uid == uid.upper() for o in found):
                doc.problem(f"{key}.card_uid: {uid} is enrolled twice")
            found.append(Operator(name.strip(), uid.upper(), pin_hash))
    return tuple(found)
