"""OPC UA intake (``greenledger ingest-opcua``): subscribe to the configured nodes of a PLC or OPC UA
server and store every data change with its source timestamp.

The points of a site whose ``opcua_node_id`` is set (e.g. ``ns=2;s=FAN-01.Frequency``) are
monitored through one subscription (asyncua client, run in its own thread by ``asyncua.sync``).
Each notification becomes a reading at the value's SourceTimestamp (the PLC's clock; the server
timestamp, then the arrival time, when the source does not send one). Readings are stored in
batches through :func:`greenledger.telemetry.services.ingest` in the caller's thread; values that
are not numbers are kept raw as intake errors. A lost connection is re-established with
back-off and the subscription renewed; OPC UA republishes the current values on subscribe, and
what was already stored is dropped as a duplicate.
"""

import datetime
import logging
import queue
import time

from asyncua import ua
from asyncua.sync import Client
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from . import services
from .models import MeasuringPoint, Source

log = logging.getLogger(__name__)


class Handler:
    """Called by asyncua's thread: only queue, never touch the database here."""

    def __init__(self, worker):
        self.worker = worker

    def datachange_notification(self, node, val, data):
        value = data.monitored_item.Value
        ts = value.SourceTimestamp or value.ServerTimestamp or timezone.now()
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=datetime.UTC)
        self.worker.notifications.put((node.nodeid.to_string(), ts, val))

    def status_change_notification(self, status):
        log.warning("OPC UA subscription status: %s", status)


def fresh_connection():
    """Drop a connection the database has closed (long-running worker); never inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


class Worker:
    def __init__(self, url, site, points=None, period_ms=500, batch=500, flush_ms=200, timeout=4):
        self.url, self.site = url, site
        self.points = list(points) if points is not None else list(
            MeasuringPoint.objects.filter(site=site, active=True).exclude(opcua_node_id="").select_related("site"))
        self.by_node = {}
        for p in self.points:
            self.by_node[ua.NodeId.from_string(p.opcua_node_id).to_string()] = p
        self.period_ms, self.batch, self.flush_s, self.timeout = period_ms, batch, flush_ms / 1000, timeout
        self.notifications = queue.Queue()
        self.client = None
        self.totals = services.IngestResult()

    def start(self):
        if not self.by_node:
            raise ValueError(f"no measuring point of {self.site.code} has an OPC UA node id")
        self.client = Client(self.url, timeout=self.timeout)
        self.client.connect()
        subscription = self.client.create_subscription(self.period_ms, Handler(self))
        nodes = [self.client.get_node(node_id) for node_id in self.by_node]
        subscription.subscribe_data_change(nodes)
        return self

    def stop(self):
        if self.client is not None:
            try:
                self.client.disconnect()
            except Exception:  # already gone: nothing to close
                pass
            self.client = None

    def alive(self):
        try:
            self.client.get_node(ua.ObjectIds.Server_ServerStatus_State).read_value()
            return True
        except Exception:
            return False

    def process_batch(self, wait):
        try:
            taken = [self.notifications.get(timeout=wait)]
        except queue.Empty:
            return 0
        flush_at = time.monotonic() + self.flush_s
        while len(taken) < self.batch:
            try:
                taken.append(self.notifications.get(timeout=max(flush_at - time.monotonic(), 0)))
            except queue.Empty:
                break
        readings = [(self.by_node[node_id], ts, value) for node_id, ts, value in taken if node_id in self.by_node]
        fresh_connection()
        result = services.ingest(readings, Source.OPCUA, site=self.site, topic=self.url)
        self.totals.add(result)
        return len(taken)

    def drain(self, until, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process_batch(wait=min(self.flush_s, max(deadline - time.monotonic(), 0.01)))
            if until():
                return True
        return until()

    def run_forever(self, stopping=lambda: False, check_every=5.0):
        delay, checked = 1, time.monotonic()
        while not stopping():
            try:
                if self.client is None:
                    self.start()
                    delay = 1
                self.process_batch(wait=1.0)
                if time.monotonic() - checked > check_every:
                    checked = time.monotonic()
                    if not self.alive():
                        raise ConnectionError("OPC UA server not answering")
            except DatabaseError as error:
                log.error("storing readings failed, retrying: %s", error)
                close_old_connections()
                time.sleep(2)
            except (OSError, ConnectionError, ua.UaError, TimeoutError) as error:
                log.warning("OPC UA %s: %s; reconnecting in %ss", self.url, error, delay)
                self.stop()
                time.sleep(delay)
                delay = min(delay * 2, 60)
