"""The Ed25519 key that signs evidence checkpoints, and the signed-message format.

The private key lives outside the database, at ``settings.GREENLEDGER_EVIDENCE_KEY`` (PKCS#8 PEM,
mode 0600), so someone who can rewrite the database cannot also forge checkpoints. It is
generated on first use. The public key is derived from it; its key id is the first 16 hex digits
of SHA-256 over the raw 32-byte public key.

Signed message (UTF-8, each line ending in ``\\n``)::

    greenledger-evidence/v1
    <tree size in decimal>
    <root hash, 64 lowercase hex digits>
    <time, UTC ISO 8601 with microseconds, e.g. 2026-11-30T03:27:06.123456Z>
"""

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

MESSAGE_FORMAT = "greenledger-evidence/v1"


def checkpoint_message(tree_size: int, root_hex: str, time_iso: str) -> bytes:
    return f"{MESSAGE_FORMAT}\n{tree_size}\n{root_hex}\n{time_iso}\n".encode()


def key_path() -> Path:
    return Path(settings.GREENLEDGER_EVIDENCE_KEY)


def private_key() -> Ed25519PrivateKey:
    return _load_or_create(str(key_path()))


@lru_cache(maxsize=4)
def _load_or_create(path: str) -> Ed25519PrivateKey:
    path = Path(path)
    if not path.exists():
        _create(path)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _create(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        # O_EXCL: when two processes start at once, one key wins and the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_raw(key: Ed25519PublicKey | None = None) -> bytes:
    key = key or public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    key = key or public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PublicKey | None = None) -> str:
    return hashlib.sha256(public_key_raw(key)).hexdigest()[:16]


def sign(message: bytes) -> str:
    return private_key().sign(message).hex()


def signature_valid(message: bytes, signature_hex: str, key: Ed25519PublicKey | None = None) -> bool:
    key = key or public_key()
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
