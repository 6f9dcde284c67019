"""MQTT intake (``greenledger ingest-mqtt``): a long-running worker that stores readings published
by gateways, PLCs and meters.

Topic scheme
------------
``greenledger/<site code>/<point code>`` — one point; the payload is one of

- ``{"ts": "2026-05-01T08:00:00+08:00", "v": 30.1}``
- ``[{"ts": ..., "v": ...}, ...]`` (a batch of the same point, e.g. a PLC cache after an outage)
- ``30.1`` (a bare number: the value now, for quick tests with ``mosquitto_pub``)

``greenledger/<site code>`` — many points; the payload is
``{"readings": [{"point": "FAN-01.freq", "ts": ..., "v": ...}, ...]}``.

Point codes may contain dots and slashes (everything after the site is the code). ``ts`` is ISO
8601 (naive times are in the site's time zone) or Unix seconds/milliseconds; the device time is
kept. Sending a reading twice stores it once. A payload that is not JSON, an unknown site and
readings that fail validation are kept raw as intake errors (page *Intake errors*).

Scaling: start several workers with ``--group NAME``; they subscribe to
``$share/NAME/greenledger/#`` and the broker (Mosquitto ≥ 1.6, EMQX) hands each message to one
of them. Messages are acknowledged (QoS 1, manual acks) only after the batch holding them is
committed, so a crashed worker loses nothing: the broker redelivers and idempotent intake drops
what was already stored. Readings are written in batches: every ``--batch`` messages or
``--flush-ms`` milliseconds, whichever comes first. Lost connections are re-established
automatically with back-off; subscriptions are renewed on every connect.

Broker queue: Mosquitto keeps at most ``max_queued_messages`` (default 1000) QoS 1 messages waiting
for a subscriber and **drops** the rest. A gateway replaying a long backlog faster than the workers
store it (one worker: ~100 messages of 100 readings a second) overflows it; raise the limit in
``mosquitto.conf`` (``max_queued_messages 100000``) or add workers with ``--group``.

Access control is the broker's: give each gateway a user that may publish only under its site.
"""

import logging
import queue
import threading
import time
import uuid
from collections import defaultdict

import paho.mqtt.client as mqtt
from django.db import DatabaseError, close_old_connections, connection

from greenledger.core import bulk
from greenledger.core.models import Site

from . import services
from .models import Source

log = logging.getLogger(__name__)
PREFIX = "greenledger"


def subscription(prefix=PREFIX, group=None):
    topic = f"{prefix}/#"
    return f"$share/{group}/{topic}" if group else topic


def readings_of(point_code, payload):
    """Readings (dicts with point/ts/v) in one message; raises ValueError when unreadable."""
    data = bulk.loads(payload)
    if isinstance(data, bool):
        raise ValueError("a bare true/false is not a reading")
    if isinstance(data, (int, float)):
        if not point_code:
            raise ValueError("a bare value needs a point in the topic")
        return [{"point": point_code, "ts": time.time(), "v": data}]
    if isinstance(data, dict) and "readings" in data:
        data = data["readings"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("expected an object, a list of objects or {\"readings\": [...]}")
    for position, item in enumerate(data):
        if type(item) is not dict:
            raise ValueError("every reading must be an object")
        if "point" not in item:  # the message's own object: name the topic's point in it
            data[position] = {**item, "point": point_code}
    return data


def fresh_connection():
    """Drop a connection the database has closed (long-running worker); never inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


class Worker:
    """Subscribe, collect messages in a queue (network thread) and store them in batches (caller's thread).

    The caller's thread does all database work, so tests can drive :meth:`drain` inside their
    transaction and the command runs :meth:`run_forever`.
    """

    def __init__(self, host="127.0.0.1", port=1883, prefix=PREFIX, group=None, batch=500, flush_ms=200,
                 username=None, password=None, client_id=None, keepalive=30, stdout=None):
        self.host, self.port, self.prefix, self.group = host, port, prefix, group
        self.batch, self.flush_s = batch, flush_ms / 1000
        self.messages = queue.Queue()
        self.subscribed = threading.Event()
        self.stdout = stdout
        self.sites = {}
        self.totals = services.IngestResult()
        self.received = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"greenledger-ingest-{uuid.uuid4().hex[:8]}",
                                  manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_message = self.on_message
        self.client.on_disconnect = self.on_disconnect
        self.keepalive = keepalive

    # network thread ---------------------------------------------------------------------------

    def on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("MQTT connect refused: %s", reason_code)
            return
        client.subscribe(subscription(self.prefix, self.group), qos=1)

    def on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.subscribed.set()

    def on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.subscribed.clear()
        if reason_code != 0:
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def on_message(self, client, userdata, message):
        self.messages.put((message.topic, message.payload, message.mid, message.qos, time.monotonic()))

    # caller's thread --------------------------------------------------------------------------

    def start(self, wait=10.0):
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()
        if wait and not self.subscribed.wait(wait):
            raise ConnectionError(f"no MQTT subscription on {self.host}:{self.port} within {wait:g}s")
        return self

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()

    def drain(self, until=None, timeout=10.0):
        """Store messages as they come until ``until()`` is true (or the queue stays empty at the
        end of ``timeout`` when no condition is given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process_batch(wait=min(self.flush_s, max(deadline - time.monotonic(), 0.01)))
            if until is not None and until():
                return True
        return until() if until is not None else True

    def run_forever(self, stopping=lambda: False):
        while not stopping():
            try:
                self.process_batch(wait=1.0)
            except DatabaseError as error:
                log.error("storing readings failed, retrying: %s", error)
                close_old_connections()
                time.sleep(2)

    def process_batch(self, wait):
        """Take up to ``batch`` messages (waiting up to ``flush_ms`` after the first) and store them."""
        try:
            first = self.messages.get(timeout=wait)
        except queue.Empty:
            return 0
        taken = [first]
        flush_at = first[4] + self.flush_s
        while len(taken) < self.batch:
            try:
                taken.append(self.messages.get(timeout=max(flush_at - time.monotonic(), 0)))
            except queue.Empty:
                break
        fresh_connection()
        try:
            self.store(taken)
        except DatabaseError:
            for item in taken:  # put them back: nothing is acknowledged before it is stored
                self.messages.put(item)
            raise
        for _topic, _payload, mid, qos, _t in taken:
            if qos:
                self.client.ack(mid, qos)
        self.received += len(taken)
        return len(taken)

    def site(self, code):
        if code not in self.sites:
            self.sites[code] = Site.objects.filter(code=code).first()
        return self.sites[code]

    def store(self, taken):
        by_site = defaultdict(list)
        for topic, payload, _mid, _qos, _t in taken:
            text = payload.decode("utf-8", errors="replace")
            parts = topic.split("/")
            if len(parts) < 2 or parts[0] != self.prefix:
                services.record_error(None, Source.MQTT, text, "topic", f"unexpected topic {topic}", topic=topic)
                continue
            site = self.site(parts[1])
            point_code = "/".join(parts[2:])
            if site is None:
                services.record_error(None, Source.MQTT, text, "unknown_site", f"unknown site {parts[1]}",
                                      point_code=point_code, topic=topic)
                continue
            try:
                by_site[site].extend(readings_of(point_code, payload))
            except (ValueError, UnicodeDecodeError) as exc:
                services.record_error(site, Source.MQTT, text, "payload", f"unreadable payload: {exc}",
                                      point_code=point_code, topic=topic)
        for site, readings in by_site.items():
            result = services.ingest(readings, Source.MQTT, site=site, topic=f"{self.prefix}/{site.code}")
            self.totals.add(result)
            if self.stdout is not None:
                self.stdout.write(f"{site.code}: stored {result.stored}, duplicates {result.duplicates}, "
                                  f"rejected {result.rejected}")
