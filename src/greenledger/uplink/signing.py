"""Signatures of the generic profile: the canonical string, RSA2 (SHA256withRSA) and SM2/SM3 (国密).

Every request carries ``X-App-Id``, ``X-Timestamp`` (Unix milliseconds), ``X-Nonce`` (32 hex
characters, never reused), ``X-Sign-Type`` (``RSA2`` or ``SM2``) and ``X-Sign`` (base64). The
signed text is the canonical string (lines joined by ``\\n``, no trailing newline)::

    POST                                  ← HTTP method, upper case
    /api/v1/records                       ← path, without the query
    a=1&b=x%20y                           ← query parameters sorted by name, RFC 3986-encoded ("" if none)
    GL-APP-001                            ← app id
    1764489600000                         ← timestamp
    9f1c…                                 ← nonce
    e3b0c442…                             ← hex digest of the body bytes (SHA-256 for RSA2, SM3 for SM2)

The platform signs its replies the same way over ``status``, timestamp, nonce and the body
digest (``X-Timestamp``/``X-Nonce``/``X-Sign`` on the reply); we verify them with its public key.
Secrets are read through :func:`resolve_secret` from an environment variable or a file under the
data directory, never from the database, and never appear in a log line or an error message.
"""

import base64
import hashlib
import os
import secrets as pysecrets
import time
from pathlib import Path
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from gmssl import func as sm_func, sm2, sm3

RSA2 = "RSA2"
SM2 = "SM2"


class SecretMissing(Exception):
    """A secret reference points nowhere (the message names the reference, never a value)."""


class BadSignature(Exception):
    """A signature did not verify."""


def resolve_secret(ref):
    """The secret behind ``env:NAME`` or ``file:path`` (relative paths under the data directory)."""
    kind, _sep, where = (ref or "").partition(":")
    if kind == "env":
        value = os.environ.get(where)
        if not value:
            raise SecretMissing(f"environment variable {where} is not set")
        return value
    if kind == "file":
        path = Path(where)
        if not path.is_absolute():
            path = Path(settings.DATA_DIR) / path
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError:
            raise SecretMissing(f"file {where} cannot be read")
    raise SecretMissing(f"reference {ref!r} must start with env: or file:")


def canonical_string(method, path, query, app_id, timestamp, nonce, body_digest):
    params = "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in sorted((query or {}).items()))
    return "\n".join([method.upper(), path, params, app_id, str(timestamp), nonce, body_digest])


def reply_string(status, timestamp, nonce, body_digest):
    return "\n".join([str(status), str(timestamp), nonce, body_digest])


def new_nonce():
    return pysecrets.token_hex(16)


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------- RSA2


class RsaSigner:
    sign_type = RSA2

    def __init__(self, private_pem=None, public_pem=None):
        self.private_key = serialization.load_pem_private_key(private_pem.encode(), None) if private_pem else None
        self.public_key = serialization.load_pem_public_key(public_pem.encode()) if public_pem else None

    @staticmethod
    def digest(body: bytes) -> str:
        return hashlib.sha256(body).hexdigest()

    def sign(self, text: str) -> str:
        raw = self.private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()

    def verify(self, text: str, signature: str):
        try:
            self.public_key.verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError, TypeError):
            raise BadSignature("RSA2 signature does not verify")


def new_rsa_keypair(bits=2048):
    """(private PEM, public PEM) for tests, the demo and the simulator."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


# ---------------------------------------------------------------- SM2 / SM3


class Sm2Signer:
    """SM2 signature with the SM3 digest and the default user id (GB/T 32918, via ``gmssl``).

    Keys are hex: the private key 64 characters, the public key 128 (x‖y, optionally ``04``-prefixed).
    The signature is r‖s as 128 hex characters, base64-encoded like RSA2 signatures.
    """

    sign_type = SM2

    def __init__(self, private_hex=None, public_hex=None):
        public_hex = (public_hex or "").strip()
        if public_hex.startswith("04") and len(public_hex) == 130:
            public_hex = public_hex[2:]
        private_hex = (private_hex or "").strip() or None
        if private_hex and not public_hex:  # the SM3 "Z" value of a signature needs the signer's public key
            probe = sm2.CryptSM2(private_key=private_hex, public_key="")
            public_hex = probe._kg(int(private_hex, 16), probe.ecc_table["g"])
        self.crypt = sm2.CryptSM2(private_key=private_hex, public_key=public_hex)

    @staticmethod
    def digest(body: bytes) -> str:
        return sm3.sm3_hash(sm_func.bytes_to_list(body))

    def sign(self, text: str) -> str:
        raw = self.crypt.sign_with_sm3(text.encode())
        return base64.b64encode(bytes.fromhex(raw)).decode()

    def verify(self, text: str, signature: str):
        try:
            ok = self.crypt.verify_with_sm3(base64.b64decode(signature).hex(), text.encode())
        except Exception:
            ok = False
        if not ok:
            raise BadSignature("SM2 signature does not verify")


def new_sm2_keypair():
    """(private hex, public hex) on the SM2 curve."""
    crypt = sm2.CryptSM2(private_key=None, public_key="")
    n = int(crypt.ecc_table["n"], 16)
    private = pysecrets.randbelow(n - 1) + 1
    public = crypt._kg(private, crypt.ecc_table["g"])
    return f"{private:064x}", public


def signer_for(sign_type, private=None, public=None):
    return (Sm2Signer if sign_type == SM2 else RsaSigner)(private, public)


def sign_headers(signer, *, method, path, query, app_id, body: bytes, timestamp=None, nonce=None):
    """The signature headers of one request."""
    timestamp = timestamp or now_ms()
    nonce = nonce or new_nonce()
    text = canonical_string(method, path, query, app_id, timestamp, nonce, signer.digest(body))
    return {"X-App-Id": app_id, "X-Timestamp": str(timestamp), "X-Nonce": nonce, "X-Sign-Type": signer.sign_type,
            "X-Sign": signer.sign(text)}


def verify_request(signer, *, method, path, query, headers, body: bytes, max_skew_ms=300_000, now=None):
    """Check a signed request (the platform's push to us, or ours at the simulator)."""
    try:
        timestamp = int(headers.get("X-Timestamp", ""))
    except ValueError:
        raise BadSignature("X-Timestamp missing or not a number")
    if abs((now or now_ms()) - timestamp) > max_skew_ms:
        raise BadSignature("X-Timestamp outside the allowed clock skew")
    nonce = headers.get("X-Nonce", "")
    if not nonce:
        raise BadSignature("X-Nonce missing")
    text = canonical_string(method, path, query, headers.get("X-App-Id", ""), timestamp, nonce, signer.digest(body))
    signer.verify(text, headers.get("X-Sign", ""))


def sign_reply(signer, status, body: bytes):
    timestamp, nonce = now_ms(), new_nonce()
    return {"X-Timestamp": str(timestamp), "X-Nonce": nonce, "X-Sign-Type": signer.sign_type,
            "X-Sign": signer.sign(reply_string(status, timestamp, nonce, signer.digest(body)))}


def verify_reply(signer, status, headers, body: bytes):
    text = reply_string(status, headers.get("X-Timestamp", ""), headers.get("X-Nonce", ""), signer.digest(body))
    signer.verify(text, headers.get("X-Sign", ""))
