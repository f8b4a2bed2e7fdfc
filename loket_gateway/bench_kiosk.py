"""loket-gateway bench's simulated kiosks: what each does when (its plan), and a driver per kiosk on one
persistent http.client connection with its own client certificate; a client process runs a thread per kiosk."""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.gateway.contract import head_message
from loket_gateway.bench_setup import pem_key, subject

KINDS = ("heartbeat", "events", "ticket", "lookup", "slots", "book")
BATCH = 6  # events a kiosk sends per minute (a visit's journal)
REDELIVER = 0.05  # share of batches sent twice
IO_S = 30.0


@dataclass(frozen=True)
class BenchOptions:
    kiosks: int = 500
    minutes: int = 4
    minute_s: float = 60.0  # real time: a resident a minute at every kiosk is already the peak
    seed: int = 1
    workers: int = 3
    threads: int = 8
    client_procs: int = 2
    database: str | None = None


# -- one kiosk ----------------------------------------------------------------------------------------


@dataclass
class KioskPlan:
    """What one kiosk does: its ID, enrolment token and its timed requests (offset s, kind, n)."""

    kiosk_id: str
    token: str
    steps: list[tuple[float, str, int]]
    niks: list[str]


def plan_kiosk(rng: random.Random, kiosk_id: str, token: str, o: BenchOptions, niks: list[str]) -> KioskPlan:
    """Every minute a heartbeat and a batch at a random moment, and one visit: ticket, lookup, and every
    fourth visit slots and a booking."""
    steps: list[tuple[float, str, int]] = []
    for m in range(o.minutes):
        base = m * o.minute_s
        steps.append((base + rng.uniform(0, o.minute_s), "heartbeat", m))
        steps.append((base + rng.uniform(0, o.minute_s), "events", m))
        visit = base + rng.uniform(0, o.minute_s * 0.8)
        steps += [(visit, "ticket", m), (visit + 0.2, "lookup", m)]
        if rng.random() < 0.25:
            steps += [(visit + 0.5, "slots", m), (visit + 1.0, "book", m)]
    steps.sort()
    return KioskPlan(kiosk_id, token, steps, [rng.choice(niks) for _ in range(o.minutes)])


class KioskDriver:
    """One kiosk on one persistent connection (reconnects when the server closed an idle one)."""

    def __init__(self, plan: KioskPlan, host: str, port: int, ca: str, run: str, seed: int) -> None:
        self.plan, self.host, self.port, self.ca, self.run = plan, host, port, ca, run
        self.rng = random.Random(f"{seed}-{plan.kiosk_id}")
        self.context = ssl.create_default_context(cafile=ca)
        self.conn: http.client.HTTPSConnection | None = None
        self.records: list[tuple[str, int, float, float]] = []  # kind, status, latency s, start lag s
        self.sent: dict[str, int] = {}  # event ID -> deliveries answered 200
        self.accepted: list[str] = []
        self.booked: list[str] = []
        self.journal = Ed25519PrivateKey.generate()
        self.seq = 0
        self.api_key = ""
        self.office = ""
        self.slot: dict[str, Any] | None = None  # the slot the resident chose from the last list

    def _connection(self) -> http.client.HTTPSConnection:
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=IO_S)
        return self.conn

    def call(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "X-Kiosk-Id": self.plan.kiosk_id}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in range(2):  # the server may have closed a kept-alive connection: once more, new
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
            except (http.client.HTTPException, OSError):
                conn.close()
                self.conn = None
                if attempt:
                    return 0, None
        return 0, None

    def enrol(self) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder().subject_name(subject(self.plan.kiosk_id)).sign(key, hashes.SHA256())
        )
        journal_key = self.journal.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        body = {
            "token": self.plan.token,
            "kiosk_id": self.plan.kiosk_id,
            "csr": csr.public_bytes(serialization.Encoding.PEM).decode(),
        }
        status, answer = self.call("POST", "/v1/enrol", body | {"journal_key": journal_key})
        if status != 200:
            raise RuntimeError(f"{self.plan.kiosk_id}: enrolment answered {status}: {answer}")
        self.api_key = answer["api_key"]
        folder = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
        cert, key_file = folder / "kiosk.crt", folder / "kiosk.key"
        cert.write_text(answer["client_cert"])
        key_file.touch(mode=0o600)
        key_file.write_bytes(pem_key(key))
        self.context.load_cert_chain(cert, key_file)
        shutil.rmtree(folder)
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        status, _ = self.call("GET", f"/v1/kiosks/{self.plan.kiosk_id}/manifest", None)  # provisioned: its cards
        if status != 200:
            raise RuntimeError(f"{self.plan.kiosk_id}: manifest answered {status}")

    def _batch(self, m: int) -> list[dict[str, Any]]:
        k = self.plan.kiosk_id
        kinds = ("visit_started", "ticket_scanned", "lookup_done", "screen_shown", "visit_ended", "kiosk_health")
        found = [
            {"id": f"{self.run}-{k}-{m}-{j}", "kind": kinds[j], "seq": m * BATCH + j, "payload": {"step": j}}
            for j in range(BATCH)
        ]
        return found

    def step(self, kind: str, m: int, day: str) -> int:
        k = self.plan.kiosk_id
        if kind == "heartbeat":
            self.seq += 1
            digest = self.rng.randbytes(32).hex()
            head = {
                "seq": self.seq,
                "hash": digest,
                "signature": self.journal.sign(head_message(k, self.seq, digest)).hex(),
            }
            return self.call("POST", f"/v1/kiosks/{k}/heartbeat", {"journal_head": head})[0]
        if kind == "events":
            batch = self._batch(m)
            if m and self.rng.random() < REDELIVER:  # the last batch's answer was lost: the outbox sends it again
                batch = self._batch(m - 1) + batch
            for _ in range(3):
                status, answer = self.call("POST", "/v1/events", {"events": batch})
                if status == 200:
                    for e in batch:
                        self.sent[e["id"]] = self.sent.get(e["id"], 0) + 1
                    self.accepted += answer["accepted"]
                    return status
                time.sleep(0.2)
            return status
        if kind == "ticket":
            ticket = hashlib.sha256(f"{self.run}-{k}-{m}".encode()).hexdigest()[:16]  # one per visit
            return self.call("POST", f"/v1/tickets/{ticket}/consume", {})[0]
        nik = self.plan.niks[m]
        if kind == "lookup":
            return self.call("POST", "/v1/lookup", {"nik": nik})[0]
        office = f"KEC-0{1 + self.rng.randrange(6)}"
        if kind == "slots":
            self.office = office
            status, answer = self.call("GET", f"/v1/offices/{office}/slots?from={day}&days=3", None)
            free = [s for s in (answer or {}).get("slots", []) if s["remaining"] > 0]
            self.slot = self.rng.choice(free) if free else None
            return status
        slot = self.slot
        if slot is None:  # nothing free was shown: the resident is told so, nothing is booked
            return -1
        body = {
            "booking_id": f"{self.run}-{k}-b{m}",
            "nik": nik,
            "office_id": self.office,
            "day": slot["day"],
            "time": slot["time"],
        }
        status, answer = self.call("POST", "/v1/bookings", body)
        if status == 200:
            self.booked.append(body["booking_id"])
        return status

    def drive(self, start: float, day: str) -> None:
        for offset, kind, m in self.plan.steps:
            due = start + offset
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            begun = time.time()
            status = self.step(kind, m, day)
            if status != -1:
                self.records.append((kind, status, time.time() - begun, max(0.0, begun - due)))
        if self.conn is not None:
            self.conn.close()


def client_process(
    plans: list[KioskPlan], host: str, port: int, ca: str, run: str, o: BenchOptions, day: str, start: float, out: Any
) -> None:
    """One client process: a thread per kiosk; enrol all, then drive from `start`."""
    drivers = [KioskDriver(p, host, port, ca, run, o.seed) for p in plans]
    errors: list[str] = []

    def life(d: KioskDriver) -> None:
        try:
            d.enrol()
            d.drive(start, day)
        except Exception as exc:  # reported, never a traceback
            errors.append(f"{d.plan.kiosk_id}: {str(exc)[:200]}")

    threads = [threading.Thread(target=life, args=(d,), daemon=True, name=d.plan.kiosk_id) for d in drivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=start - time.time() + o.minutes * o.minute_s + 120)
    cpu = time.process_time()
    out.put(
        {
            "records": [r for d in drivers for r in d.records],
            "sent": {i: n for d in drivers for i, n in d.sent.items()},
            "accepted": [i for d in drivers for i in d.accepted],
            "booked": [b for d in drivers for b in d.booked],
            "errors": errors,
            "cpu_s": cpu,
        }
    )
