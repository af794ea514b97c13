"""The research cluster's TLS files: a CA of its own and the one node certificate it signs.

Dask checks a peer's certificate against the cluster's CA but not its host name
(distributed turns check_hostname off, as clusters are addressed by IP), so a single
node certificate and key, copied to every host with the CA certificate, authenticates
the scheduler, the workers and the clients to one another. The CA's private key signs
that certificate and is then dropped: nothing on disk can mint another certificate the
cluster would trust, and a new set (`bifrost keys research-tls --force`) replaces all
three files on every host.

Keys are ECDSA P-256. The node key is created with mode 0600 (never readable by
others, not even briefly), as the bus's secret keys are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bifrost.errors import Conflict

VALID_DAYS = 1825
"""How long a new set is valid (five years): an expired certificate stops the cluster."""
CLOCK_SKEW = timedelta(hours=1)
"""A new certificate is valid from an hour ago, so a host whose clock lags accepts it."""
NODE_NAME = "bifrost-research"
"""The node certificate's common and DNS name (Dask does not check it)."""


@dataclass(frozen=True, slots=True)
class ResearchTls:
    """A set of research TLS files just made: where they are and until when they hold."""

    files: dict[str, Path]
    """tls_cert, tls_key and tls_ca, as `ResearchConfig.tls_files` names them."""
    expires: datetime


def make_research_tls(
    files: dict[str, Path],
    *,
    force: bool = False,
    days: int = VALID_DAYS,
    now: datetime | None = None,
) -> ResearchTls:
    """Write a new CA certificate (tls_ca) and a node certificate (tls_cert) it signs, with
    the node's key (tls_key, mode 0600); existing files are a Conflict unless `force`."""
    existing = [str(path) for path in files.values() if path.exists()]
    if existing and not force:
        raise Conflict(
            f"{', '.join(existing)} already exist; --force replaces them "
            "(then copy the new files to every cluster host)",
            {"files": existing},
        )
    start = (now or datetime.now(UTC)).replace(microsecond=0) - CLOCK_SKEW
    expires = start + CLOCK_SKEW + timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _ca_certificate(ca_key, start, expires)
    node_key = ec.generate_private_key(ec.SECP256R1())
    node = _node_certificate(node_key, ca, ca_key, start, expires)
    for path in files.values():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_secret(files["tls_key"], _private_pem(node_key))
    files["tls_cert"].write_bytes(node.public_bytes(serialization.Encoding.PEM))
    files["tls_ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ResearchTls(dict(files), expires)


def _ca_certificate(
    key: ec.EllipticCurvePrivateKey, start: datetime, expires: datetime
) -> x509.Certificate:
    name = _name("Bifrost research CA")
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _node_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    start: datetime,
    expires: datetime,
) -> x509.Certificate:
    public = key.public_key()
    # Every node is a TLS server (it listens) and a client (it connects): both uses.
    uses = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    return (
        x509.CertificateBuilder()
        .subject_name(_name(NODE_NAME))
        .issuer_name(ca.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(uses), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NODE_NAME)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bifrost"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_secret(path: Path, data: bytes) -> None:
    """Write `data` to a new file of mode 0600 (a file already there is replaced)."""
    path.unlink(missing_ok=True)
    # O_EXCL with mode 0600: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
