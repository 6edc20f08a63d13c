"""What aurora reads from a CA certificate file before a build: that it is PEM and what it holds.

keytool and the system bundle take PEM; a DER file, a key or a bundle with junk between the
certificates would fail deep inside the build (or, worse, be appended to the bundle as it is).
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


class CertError(Exception):
    """The file is not a PEM file of CA certificates."""


def read_pem_certificates(path: Path) -> list[str]:
    """The subjects of the certificates in a PEM file (one or more CERTIFICATE blocks, nothing
    else but blank lines and comments outside them)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CertError(f"cannot read it ({exc.strerror})") from None
    blocks = list(_BLOCK.finditer(data))
    if not blocks:
        raise CertError("not a PEM file (no -----BEGIN CERTIFICATE----- block): convert a DER file with"
                        " `openssl x509 -inform der -in FILE -out FILE.pem`")
    kinds = sorted({b.group(1).decode() for b in blocks if b.group(1) != b"CERTIFICATE"})
    if kinds:
        raise CertError(f"holds {', '.join(kinds)}, not only certificates (never put a private key here)")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertError(f"a CERTIFICATE block does not parse ({exc})") from None
    return [c.subject.rfc4514_string() for c in certs]
