"""HTTP client of the generic profile: token, signed requests, verified replies, failure classes.

Endpoints, relative to the platform's base URL (all JSON, UTF-8; ``code`` 0 means success)::

    POST /auth/token                 {"appId", "appSecret"}            → {"data": {"token", "expiresIn"}}
    POST /records                    envelope (see worker)             → {"data": {"receiptId", "duplicate"}}
    POST /heartbeat                  {"entNo", "time", "backlog"}      → {"code": 0}
    GET  /records/count?date=D       —                                 → {"data": {"counts": {kind: n}}}
    GET  /control-measures?since=T   —                                 → {"data": [instruction, …]}
    POST /control-measures/<id>/ack  {"received", "appliedAt", …}      → {"code": 0}

Every request is signed (``signing``) and carries ``Authorization: Bearer <token>`` except the
token request itself. A reply whose signature does not verify is not believed (treated as a
failure to retry: the platform deduplicates, so the retry is safe). The connection is kept alive.

Failures are classified for the worker: :class:`Rejected` (the platform refused this record: dead
letter), :class:`AuthFailed` (token or signature refused twice: configuration), :class:`Transient`
(network, timeout, 5xx, 429, malformed or unsigned reply: retry later).
"""

import http.client
import json
import time
from urllib.parse import urlencode, urlsplit

from . import signing


class UplinkError(Exception):
    status = None

    def __init__(self, message, status=None, field=""):
        super().__init__(message)
        self.status = status
        self.field = field


class Transient(UplinkError):
    pass


class Rejected(UplinkError):
    pass


class AuthFailed(UplinkError):
    pass


class PlatformClient:
    """One worker's connection to one platform (not shared between threads)."""

    def __init__(self, platform, *, clock=time.time):
        self.platform = platform
        self.clock = clock
        parts = urlsplit(platform.base_url.rstrip("/"))
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.prefix = parts.path
        sign_type = signing.SM2 if platform.sm2 else signing.RSA2
        self.signer = signing.signer_for(sign_type, signing.resolve_secret(platform.private_key_ref), None)
        self.verifier = signing.signer_for(sign_type, None, platform.platform_public_key)
        self.secret_ref = platform.app_secret_ref
        self.token = None
        self.token_expires = 0.0
        self.connection = None

    # ------------------------------------------------------------ transport

    def _connect(self):
        if self.connection is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self.connection = cls(self.host, self.port, timeout=self.platform.timeout_seconds)
        return self.connection

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _exchange(self, method, path, query, body_bytes, headers):
        url = self.prefix + path + (("?" + urlencode(sorted(query.items()))) if query else "")
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile gets one fresh retry
            try:
                connection = self._connect()
                connection.request(method, url, body=body_bytes if method != "GET" else None, headers=headers)
                response = connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, {k: v for k, v in response.getheaders()}, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 2:
                    raise Transient(f"connection lost: {exc.__class__.__name__}")
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise Transient(f"network error: {exc.__class__.__name__}: {exc}"[:300])

    def request(self, method, path, payload=None, query=None, *, auth=True, retry_auth=True):
        """Send one signed request; the reply's parsed JSON, or an ``UplinkError``."""
        query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        body = b"" if method == "GET" else json.dumps(payload or {}, ensure_ascii=False,
                                                      separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.ensure_token()}"
        headers.update(signing.sign_headers(self.signer, method=method, path=self.prefix + path, query=query,
                                            app_id=self.platform.app_id, body=body))
        status, reply_headers, data = self._exchange(method, path, query, body, headers)
        if status == 429 or status >= 500:  # gateways answer these unsigned: nothing to verify or believe
            raise Transient(f"HTTP {status}: {data[:200].decode('utf-8', 'replace')}", status)
        reply = self._verified(status, reply_headers, data)
        if status == 401:
            code = str(reply.get("code", ""))
            if auth and retry_auth and code.startswith("TOKEN"):
                self.token = None
                return self.request(method, path, payload, query, auth=auth, retry_auth=False)
            raise AuthFailed(f"{code}: {reply.get('message', '')}"[:300], status)
        if status >= 400:
            raise Rejected(str(reply.get("message") or f"HTTP {status}")[:500], status, str(reply.get("field", "")))
        if reply.get("code") not in (0, "0"):
            raise Transient(f"unexpected reply code {reply.get('code')!r}"[:300], status)
        return reply

    def _verified(self, status, headers, data):
        try:
            reply = json.loads(data.decode("utf-8")) if data else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Transient(f"malformed reply (HTTP {status}, {len(data)} bytes)", status)
        if not isinstance(reply, dict):
            raise Transient(f"malformed reply (HTTP {status}): not an object", status)
        lowered = {k.lower(): v for k, v in headers.items()}
        canonical = {"X-Timestamp": lowered.get("x-timestamp", ""), "X-Nonce": lowered.get("x-nonce", ""),
                     "X-Sign": lowered.get("x-sign", "")}
        try:
            signing.verify_reply(self.verifier, status, canonical, data)
        except signing.BadSignature:
            raise Transient(f"reply signature does not verify (HTTP {status})", status)
        return reply

    # ------------------------------------------------------------ operations

    def ensure_token(self):
        if self.token and self.clock() < self.token_expires - 30:
            return self.token
        secret = signing.resolve_secret(self.secret_ref)
        reply = self.request("POST", "/auth/token", {"appId": self.platform.app_id, "appSecret": secret}, auth=False)
        data = reply.get("data") or {}
        if not data.get("token"):
            raise Transient("token reply without a token")
        self.token = data["token"]
        self.token_expires = self.clock() + float(data.get("expiresIn") or 600)
        return self.token

    def send_record(self, envelope):
        data = self.request("POST", "/records", envelope).get("data") or {}
        if not data.get("receiptId"):
            raise Transient("acknowledgement without a receipt id")
        return str(data["receiptId"]), bool(data.get("duplicate"))

    def heartbeat(self, body):
        return self.request("POST", "/heartbeat", body)

    def counts(self, date):
        return (self.request("GET", "/records/count", query={"date": date.isoformat()}).get("data") or {}).get(
            "counts", {})

    def control_measures(self, since=""):
        data = self.request("GET", "/control-measures", query={"since": since}).get("data")
        return data if isinstance(data, list) else []

    def acknowledge(self, regulator_id, body):
        return self.request("POST", f"/control-measures/{regulator_id}/ack", body)
