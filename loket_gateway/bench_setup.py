"""loket-gateway bench's stage: a throwaway PostgreSQL, the kiosks' CA and the gateway's certificate, and
`loket-gateway serve` as a subprocess with mutual TLS."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from loket_gateway.bench_kiosk import BenchOptions


# -- a throwaway PostgreSQL (as tests/pgserver.py) ----------------------------------------------------


class ThrowawayPostgres:
    """initdb in a temporary folder, a Unix socket only; as root the server runs as user postgres."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        if not found:
            raise RuntimeError("PostgreSQL is not installed (Debian's postgresql), or give --database URL")
        self.bin = found[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="loket-bench-pg-"))
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd] if self.root else cmd, check=True, capture_output=True, timeout=60
        )

    def start(self) -> str:
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "loket", "-E", "UTF8", "--no-sync")
        options = f"-k {self.folder} -c listen_addresses='' -c max_connections=200"
        log = str(self.folder / "log")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "-t", "30", "start")
        return f"postgresql+psycopg://loket@/postgres?host={self.folder}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


# -- PKI: the kiosks' CA and the gateway's certificate -------------------------------------------------


def subject(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loket Mandiri"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_pki(folder: Path) -> dict[str, Path]:
    """A CA (it signs the gateway's certificate and, at enrolment, the kiosks') and the gateway's pair."""
    import ipaddress

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject("bench CA"))
        .issuer_name(subject("bench CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject("gateway"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = {n: folder / f"{n}.pem" for n in ("ca", "ca_key", "cert", "key")}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for path, k in ((files["ca_key"], ca_key), (files["key"], key)):
        path.touch(mode=0o600)
        path.write_bytes(pem_key(k))
    return files


def serve(
    url: str, pki: dict[str, Path], o: BenchOptions, folder: Path, today: dt.date
) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    args = [
        "serve",
        "--db",
        url,
        "--listen",
        f"127.0.0.1:{port}",
        "--workers",
        str(o.workers),
        "--threads",
        str(o.threads),
    ]
    args += [
        "--tls-cert",
        str(pki["cert"]),
        "--tls-key",
        str(pki["key"]),
        "--client-ca",
        str(pki["ca"]),
        "--ca-key",
        str(pki["ca_key"]),
    ]
    args += ["--today", today.isoformat()]
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"))
    (folder / "metrics").mkdir()
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "loket_gateway.cli", *args], stdout=log, stderr=log, env=env)
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the gateway did not start: " + (folder / "serve.log").read_text()[-1000:])
        time.sleep(0.2)
