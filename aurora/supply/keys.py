"""Sigstore signing keys in the format podman and skopeo read (cosign's).

Debian 12's skopeo 1.9 / podman 4.3 sign with ``--sign-by-sigstore-private-key`` and read only
cosign's encrypted private key: a PEM block ``ENCRYPTED COSIGN PRIVATE KEY`` whose body is JSON —
scrypt (N=32768, r=8, p=1) derives a key from the passphrase, NaCl secretbox encrypts the PKCS#8
DER private key (the go-tuf ``encrypted`` format). Newer tools call the same block
``ENCRYPTED SIGSTORE PRIVATE KEY``; both are read here, the cosign name is written. The public
key is a plain ``PUBLIC KEY`` PEM, which policy.json's ``sigstoreSigned`` ``keyPath`` and
``aurora verify --key`` take.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
import nacl.exceptions
import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from aurora.errors import UsageError

PRIVATE_PEM = "ENCRYPTED COSIGN PRIVATE KEY"
PRIVATE_PEMS = (PRIVATE_PEM, "ENCRYPTED SIGSTORE PRIVATE KEY")
SCRYPT = {"N": 32768, "r": 8, "p": 1}
PASSPHRASE_ENV = "AURORA_SIGN_PASSPHRASE"
PASSPHRASE_ENVS = (PASSPHRASE_ENV, "COSIGN_PASSWORD")  # cosign's name, which CI often has already


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes


def _pem(kind: str, body: bytes) -> bytes:
    text = base64.b64encode(body).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return (f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n").encode()


def _scrypt(passphrase: bytes, salt: bytes, params: dict) -> bytes:
    n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
    return hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, dklen=32, maxmem=256 * 1024 * 1024)


def encrypt(der: bytes, passphrase: bytes) -> bytes:
    salt, nonce = os.urandom(32), os.urandom(24)
    box = nacl.secret.SecretBox(_scrypt(passphrase, salt, SCRYPT))
    sealed = box.encrypt(der, nonce).ciphertext
    doc = {
        "kdf": {"name": "scrypt", "params": SCRYPT, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(doc).encode()


def generate(passphrase: bytes) -> KeyPair:
    """A new ECDSA P-256 key pair (what cosign makes), the private half encrypted."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(_pem(PRIVATE_PEM, encrypt(der, passphrase)), public)


def load_private(path: Path, passphrase: bytes):
    """The private key in ``path``, decrypted; a UsageError naming the problem otherwise."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--sign-key {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})",
                         hint="make a key pair with `aurora key generate`") from None
    m = re.search(r"-----BEGIN ([A-Z ]+)-----\s*(.*?)\s*-----END \1-----", text, re.S)
    if m is None:
        raise UsageError(f"--sign-key {path}: not a PEM key file", hint="make a key pair with `aurora key generate`")
    kind = m.group(1)
    if kind not in PRIVATE_PEMS:
        raise UsageError(
            f"--sign-key {path}: a {kind!r} PEM; podman and skopeo sign only with a cosign-format encrypted key"
            f" ({PRIVATE_PEM})",
            hint="make one with `aurora key generate` (or `cosign generate-key-pair`); a plain PEM key cannot be"
            " used as it is")
    try:
        doc = json.loads(base64.b64decode(m.group(2)))
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "nacl/secretbox":
            raise ValueError(f"kdf {kdf['name']}, cipher {cipher['name']}")
        box = nacl.secret.SecretBox(_scrypt(passphrase, base64.b64decode(kdf["salt"]), kdf["params"]))
        der = box.decrypt(base64.b64decode(doc["ciphertext"]), base64.b64decode(cipher["nonce"]))
    except nacl.exceptions.CryptoError:
        raise UsageError(f"--sign-key {path}: wrong passphrase (the key does not decrypt with it)",
                         hint=f"give the key's passphrase in ${PASSPHRASE_ENV} or with --sign-passphrase-file") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--sign-key {path}: not a readable {kind} ({exc})") from None
    key = serialization.load_der_private_key(der, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise UsageError(f"--sign-key {path}: an ECDSA key on {key.curve.name}; sigstore takes P-256, P-384, P-521")
    elif not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise UsageError(f"--sign-key {path}: a {type(key).__name__}; sigstore takes ECDSA, RSA or Ed25519 keys")
    return key


def load_public(path: Path):
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"--key {path}: cannot read it ({exc.strerror})") from None
    except ValueError:
        raise UsageError(f"--key {path}: not a PEM public key",
                         hint="pass the .pub file that `aurora key generate` wrote beside the private key") from None
    return key


def public_of(private) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_signature(public, signature: bytes, payload: bytes) -> bool:
    """Whether ``signature`` (as sigstore writes it) is ``public``'s over ``payload``."""
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, payload)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def passphrase_from(file: Path | None, environ: dict[str, str] | None = None) -> bytes:
    """The key's passphrase: from --sign-passphrase-file, else $AURORA_SIGN_PASSPHRASE / $COSIGN_PASSWORD."""
    env = os.environ if environ is None else environ
    if file is not None:
        try:
            return file.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise UsageError(f"--sign-passphrase-file {file}: cannot read it ({exc.strerror})") from None
    for name in PASSPHRASE_ENVS:
        if name in env:
            return env[name].encode()
    raise UsageError("the signing key's passphrase is not given",
                     hint=f"set ${PASSPHRASE_ENV} (or $COSIGN_PASSWORD), or pass --sign-passphrase-file FILE")


def write_pair(pair: KeyPair, private_path: Path, force: bool = False) -> Path:
    public_path = private_path.with_suffix(".pub")
    for p in (private_path, public_path):
        if p.exists() and not force:
            raise UsageError(f"{p} exists", hint="pass --force to replace it, or choose another name")
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pair.private_pem)
    public_path.write_bytes(pair.public_pem)
    return public_path
