"""The gateway's side of the kiosks' private PKI: a client certificate for an enrolling kiosk, signed by
the office's CA over the key in the kiosk's certificate request. The certificate's common name is the
kiosk's ID: that is the identity mutual TLS proves (loket_gateway.peer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_PEM = 16384


@dataclass(frozen=True)
class SigningCa:
    """The CA that signs kiosk certificates: its certificate (PEM text) and private key."""

    cert_pem: str
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    @classmethod
    def from_files(cls, cert: Path, key: Path) -> SigningCa:
        loaded = serialization.load_pem_private_key(key.read_bytes()[:MAX_PEM], None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            raise ValueError(f"{key}: not an EC, RSA or Ed25519 private key")
        return cls(cert.read_text()[:MAX_PEM], loaded)


def sign_csr(ca: SigningCa, csr_pem: str, kiosk_id: str, days: int = 825) -> str:
    """A client certificate (PEM) for `kiosk_id` over the request's key; ValueError for a bad request."""
    csr = x509.load_pem_x509_csr(csr_pem.encode()[:MAX_PEM])
    if not csr.is_signature_valid:
        raise ValueError("the certificate request's signature is not valid")
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loket Mandiri"),
            x509.NameAttribute(NameOID.COMMON_NAME, kiosk_id),
        ]
    )
    algorithm = None if isinstance(ca.key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, algorithm)
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
