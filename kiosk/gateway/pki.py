"""The kiosk's side of the private PKI of the link to the gateway (mutual TLS): its own private key and the
certificate request `kiosk provision` sends with its enrolment; the gateway signs it (loket_gateway.pki).
The kiosk pins the office's CA: a server certificate from anyone else is refused, whatever the system's
trust store says."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.store.secret_files import write_secret


def name(cn: str) -> x509.Name:
    """A Loket Mandiri certificate's subject: the kiosk's ID (or the gateway's name) as common name."""
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loket Mandiri"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM (written 0600 by write_secret)."""
    pkcs8, clear = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, clear)


def make_csr(folder: Path, cn: str) -> tuple[Path, str]:
    """A new private key (written 0600) and a certificate request for it, as PEM text."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(name(cn)).sign(key, hashes.SHA256())
    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / "kiosk.key"
    write_secret(key_path, private_pem(key))
    return key_path, csr.public_bytes(serialization.Encoding.PEM).decode()
