"""The office's side of the kiosks' private PKI, for tests: a CA, the gateway's server certificate and
client certificates, as PEM files (the gateway signs an enrolling kiosk's request with
loket_gateway.pki). The kiosk's own side, its key and certificate request, is kiosk.gateway.pki."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from kiosk.gateway.pki import name as subject_of
from kiosk.gateway.pki import private_pem
from kiosk.store.secret_files import write_secret
from loket_gateway.pki import SigningCa


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


def _write(folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_secret(key_path, private_pem(key))
    return Issued(cert_path, key_path)


def make_ca(folder: Path, cn: str = "Loket Mandiri gateway CA", days: int = 3650) -> Issued:
    """A self-signed CA for the kiosks' certificates and the gateway's."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject_of(cn))
        .issuer_name(subject_of(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _write(folder, "ca", cert, key)


def issue(ca: Issued, folder: Path, cn: str, *, server_names: tuple[str, ...] = (), days: int = 825) -> Issued:
    """A server certificate (for `server_names`) or, without names, a client certificate for `cn`."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_of(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server_names:
        alt: list[x509.GeneralName] = []
        for name in server_names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return _write(folder, cn.replace(" ", "-").lower(), cert, key)


def signing_ca(ca: Issued) -> SigningCa:
    """The CA as the gateway holds it to sign enrolling kiosks' requests."""
    return SigningCa.from_files(ca.cert, ca.key)
