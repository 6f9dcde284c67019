"""A regulator platform simulator (监管平台模拟器) implementing the generic profile over real HTTP.

It checks what a real platform would check — request signature (RSA2 or SM2, per app), clock skew,
nonce reuse, app secret, bearer token and its expiry, required fields and code values — keeps
every record once (deduplicated by ``recordId``: a resend gets the first receipt back with
``"duplicate": true``), counts per day for reconciliation, serves a control-measure feed and takes
acknowledgements. Replies are signed with the simulator's own key.

Switches, set at start or at run time through ``POST /_admin/switches`` (JSON)::

    outage           true: every request fails ("outage_mode": "503" reply, or "drop" the connection)
    outage_after     go into outage after this many new records
    slow_ms          delay every reply
    fail_rate        share of requests answered 500
    malformed_rate   share of requests answered 200 with a body that is not JSON
    bad_reply_signature   sign replies with garbage
    reject           {"field": value, …}: a record whose data has one of these values is refused (422)

``GET /_admin/state`` returns the counters and, with ``?records=1``, the record ids in arrival
order; ``POST /_admin/control-measures`` adds an instruction to the feed; ``POST /_admin/expire-tokens``
expires every token; ``POST /_admin/reset`` forgets everything. The admin endpoints are unsigned:
the simulator is a test tool, never a production service.
"""

import json
import random
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from . import signing
from .mapping import DEFAULT_CODE_TABLES, REQUIRED

CODE_CHECKS = {"carColour": "plate_color", "stage": "stage", "passType": "direction", "fuelType": "fuel"}
DEFAULT_SWITCHES = {"outage": False, "outage_mode": "503", "outage_after": None, "slow_ms": 0, "fail_rate": 0.0,
                    "malformed_rate": 0.0, "bad_reply_signature": False, "reject": {}}


class SimulatorState:
    """Everything the simulator remembers; one lock guards it (the server is threaded)."""

    def __init__(self, apps, keys, token_ttl=7200, switches=None):
        self.apps = apps  # app id -> {"secret", "public_key", "sign_type"}
        self.keys = keys  # sign type -> {"private": …, "public": …}
        self.token_ttl = token_ttl
        self.lock = threading.Lock()
        self.signers = {}
        self.switches = {**DEFAULT_SWITCHES, **(switches or {})}
        self.reset()

    def reset(self):
        self.records = {}  # (app id, record id) -> record dict
        self.order = []
        self.tokens = {}
        self.nonces = {}
        self.requests = 0
        self.duplicates = 0
        self.rejected = 0
        self.heartbeats = 0
        self.control_measures = []
        self.acks = {}

    def our_signer(self, sign_type):
        key = ("own", sign_type)
        if key not in self.signers:
            pair = self.keys[sign_type]
            self.signers[key] = signing.signer_for(sign_type, pair["private"], None)
        return self.signers[key]

    def app_verifier(self, app_id):
        app = self.apps.get(app_id)
        if app is None:
            return None
        key = ("app", app_id)
        if key not in self.signers:
            self.signers[key] = signing.signer_for(app.get("sign_type", signing.RSA2), None, app["public_key"])
        return self.signers[key]


class Reply(Exception):
    def __init__(self, status, body, sign_type=signing.RSA2):
        super().__init__(status)
        self.status, self.body, self.sign_type = status, body, sign_type


def _error(status, code, message, field=""):
    return Reply(status, {"code": code, "message": message, "field": field})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RegulatorSim/1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall
    state: SimulatorState = None

    def log_message(self, format, *args):  # quiet: tests and the bench run thousands of requests
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path.startswith("/_admin/"):
            return self._admin(method, parts.path, query, body)
        state = self.state
        switches = state.switches
        with state.lock:
            state.requests += 1
        if switches["outage"]:
            if switches["outage_mode"] == "drop":
                self.close_connection = True
                self.connection.close()
                return
            return self._send(503, b'{"code":"UNAVAILABLE","message":"platform under maintenance"}', {})
        if switches["slow_ms"]:
            time.sleep(switches["slow_ms"] / 1000)
        if switches["fail_rate"] and random.random() < switches["fail_rate"]:
            return self._send(500, b"internal error", {})
        sign_type = state.apps.get(self.headers.get("X-App-Id", ""), {}).get("sign_type", signing.RSA2)
        try:
            reply = self._route(method, parts.path, query, body)
        except Reply as exc:
            reply = exc
        if switches["malformed_rate"] and random.random() < switches["malformed_rate"]:
            return self._send(200, b"<html>gateway</html>", {})
        data = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
        signer = state.our_signer(sign_type)
        headers = signing.sign_reply(signer, reply.status, data)
        if switches["bad_reply_signature"]:
            headers["X-Sign"] = headers["X-Sign"][::-1]
        self._send(reply.status, data, headers)

    def _send(self, status, data, headers):
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    # ------------------------------------------------------------ checks

    def _authenticate(self, method, path, query, body):
        state = self.state
        app_id = self.headers.get("X-App-Id", "")
        verifier = state.app_verifier(app_id)
        if verifier is None:
            raise _error(401, "APP_UNKNOWN", f"unknown app id {app_id!r}")
        try:
            signing.verify_request(verifier, method=method, path=path, query=query, headers=self.headers, body=body)
        except signing.BadSignature as exc:
            raise _error(401, "SIGN_INVALID", str(exc))
        nonce = self.headers.get("X-Nonce", "")
        now = time.time()
        with state.lock:
            if nonce in state.nonces:
                raise _error(401, "NONCE_REUSED", "nonce used before")
            state.nonces[nonce] = now
            if len(state.nonces) > 200_000:
                state.nonces = {n: t for n, t in state.nonces.items() if now - t < 600}
        return app_id

    def _bearer(self, app_id):
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        found = self.state.tokens.get(token)
        if found is None or found[0] != app_id:
            raise _error(401, "TOKEN_INVALID", "token unknown")
        if found[1] < time.time():
            raise _error(401, "TOKEN_EXPIRED", "token expired")

    # ------------------------------------------------------------ routes

    def _route(self, method, path, query, body):
        app_id = self._authenticate(method, path, query, body)
        try:
            payload = json.loads(body) if body else {}
        except json.JSONDecodeError:
            raise _error(400, "BAD_JSON", "body is not JSON")
        if (method, path) == ("POST", "/auth/token"):
            return self._token(app_id, payload)
        self._bearer(app_id)
        if (method, path) == ("POST", "/records"):
            return self._record(app_id, payload)
        if (method, path) == ("POST", "/heartbeat"):
            with self.state.lock:
                self.state.heartbeats += 1
            return Reply(200, {"code": 0, "message": "ok"})
        if (method, path) == ("GET", "/records/count"):
            return self._count(app_id, query.get("date", ""))
        if (method, path) == ("GET", "/control-measures"):
            return Reply(200, {"code": 0, "data": list(self.state.control_measures)})
        if method == "POST" and path.startswith("/control-measures/") and path.endswith("/ack"):
            ident = path[len("/control-measures/"):-len("/ack")]
            with self.state.lock:
                self.state.acks[ident] = payload
            return Reply(200, {"code": 0, "message": "ok"})
        raise _error(404, "NOT_FOUND", f"no endpoint {method} {path}")

    def _token(self, app_id, payload):
        if payload.get("appSecret") != self.state.apps[app_id]["secret"]:
            raise _error(401, "SECRET_INVALID", "app secret wrong")
        token = uuid.uuid4().hex
        with self.state.lock:
            self.state.tokens[token] = (app_id, time.time() + self.state.token_ttl)
        return Reply(200, {"code": 0, "data": {"token": token, "expiresIn": self.state.token_ttl}})

    def _record(self, app_id, envelope):
        record_id, kind, data = envelope.get("recordId"), envelope.get("kind"), envelope.get("data")
        if not record_id or kind not in REQUIRED or not isinstance(data, dict):
            raise _error(422, "FIELD_REJECTED", "recordId, kind and data are required", "recordId")
        for name in REQUIRED[kind]:
            if data.get(name) in (None, ""):
                raise self._reject(_error(422, "FIELD_REJECTED", f"{name} is required", name))
        for name, table in CODE_CHECKS.items():
            if name in data and data[name] not in ("", None) and data[name] not in DEFAULT_CODE_TABLES[table].values():
                raise self._reject(_error(422, "FIELD_REJECTED", f"{name}: code {data[name]!r} is not in the table",
                                          name))
        for name, value in (self.state.switches.get("reject") or {}).items():
            if data.get(name) == value:
                raise self._reject(_error(422, "FIELD_REJECTED", f"{name}: value {value!r} refused", name))
        state = self.state
        with state.lock:
            found = state.records.get((app_id, record_id))
            if found is not None:
                found["received"] += 1
                state.duplicates += 1
                return Reply(200, {"code": 0, "data": {"receiptId": found["receiptId"], "duplicate": True}})
            receipt = f"R{len(state.order) + 1:09d}"
            state.records[(app_id, record_id)] = {
                "receiptId": receipt, "kind": kind, "uploadType": envelope.get("uploadType"),
                "occurredAt": str(envelope.get("occurredAt") or ""), "received": 1, "data": data}
            state.order.append(record_id)
            after = state.switches.get("outage_after")
            if after is not None and len(state.order) >= int(after):
                state.switches["outage"] = True
        return Reply(200, {"code": 0, "data": {"receiptId": receipt, "duplicate": False}})

    def _reject(self, reply):
        with self.state.lock:
            self.state.rejected += 1
        return reply

    def _count(self, app_id, date):
        counts = {}
        with self.state.lock:
            for (owner, _rid), record in self.state.records.items():
                if owner == app_id and record["occurredAt"][:10] == date:
                    counts[record["kind"]] = counts.get(record["kind"], 0) + 1
        return Reply(200, {"code": 0, "data": {"date": date, "counts": counts}})

    # ------------------------------------------------------------ admin

    def _admin(self, method, path, query, body):
        state = self.state
        payload = json.loads(body) if body else {}
        with state.lock:
            if path == "/_admin/switches" and method == "POST":
                state.switches.update(payload)
            elif path == "/_admin/reset":
                state.reset()
            elif path == "/_admin/expire-tokens":
                state.tokens = {t: (a, 0) for t, (a, _e) in state.tokens.items()}
            elif path == "/_admin/control-measures" and method == "POST":
                state.control_measures.append(payload)
            result = {"switches": state.switches, "records": len(state.order), "duplicates": state.duplicates,
                      "rejected": state.rejected, "requests": state.requests, "heartbeats": state.heartbeats,
                      "acks": state.acks}
            if query.get("records"):
                result["order"] = list(state.order)
                result["upload_types"] = {rid: rec["uploadType"] for (_a, rid), rec in state.records.items()}
        data = json.dumps(result, ensure_ascii=False, default=str).encode()
        self._send(200, data, {})


class RegulatorSimulator:
    """The server around a ``SimulatorState``; ``start()`` runs it in a thread (tests), ``serve()`` blocks."""

    def __init__(self, state, host="127.0.0.1", port=0):
        self.state = state
        handler = type("BoundHandler", (Handler,), {"state": state})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def serve(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- configuration files


def new_keys():
    rsa_private, rsa_public = signing.new_rsa_keypair()
    sm2_private, sm2_public = signing.new_sm2_keypair()
    return {signing.RSA2: {"private": rsa_private, "public": rsa_public},
            signing.SM2: {"private": sm2_private, "public": sm2_public}}


def load_config(path):
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    return SimulatorState(config["apps"], config["keys"], token_ttl=config.get("token_ttl", 7200),
                          switches=config.get("switches"))


def write_config(path, apps, keys, token_ttl=7200):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"apps": apps, "keys": keys, "token_ttl": token_ttl}, ensure_ascii=False, indent=2),
                    encoding="utf-8")
    path.chmod(0o600)
