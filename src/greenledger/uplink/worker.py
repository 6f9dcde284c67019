"""The uplink worker (上报进程): claim queued records, send them in order, retry, dead-letter.

One pass (:meth:`Worker.run_once`) serves every enabled platform:

1. heartbeat when due, control measures pulled when due, rate/backlog alarms checked when due;
2. unless the platform's circuit is open, claim a batch of due items — oldest first (``id`` order),
   an image only once its passage is acknowledged — with a lease (``claimed_until``): on
   PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` in a short transaction, elsewhere a conditional
   ``UPDATE`` (SQLite serialises writers, so one statement is atomic). A killed worker's lease
   simply runs out and another worker takes the items again; the platform deduplicates by record
   id, so the resend is not a duplicate there;
3. send the batch in order. An acknowledgement marks the item acked and writes a sealed
   ``UplinkReceipt``; a rejection (the platform refuses a field) makes it a dead letter with the
   platform's message; any other failure (network, 5xx, timeout, bad reply, token/signature
   refused) stops the batch, gives the remaining items back, and opens the platform's circuit
   for an exponentially growing, jittered pause. After the pause one item probes (half-open);
   success closes the circuit and the backlog resumes in its original order (断点续传).

A record is flagged back-filled (补传) when it is sent after the platform's real-time window, was
recorded during an outage, had failed before, or is a re-upload. Time is injected (``now``) so
tests can play a whole day without sleeping.
"""

import hashlib
import json
import logging
import random
import socket
import time
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from greenledger.evidence.services import insert_sealed

from . import instructions, mapping, rates
from .client import AuthFailed, PlatformClient, Rejected, Transient, UplinkError
from .models import (
    Circuit, CircuitState, DeliveryAttempt, Kind, Outcome, OutboxItem, Platform, State, UplinkReceipt,
)
from .signing import SecretMissing

logger = logging.getLogger("greenledger.uplink")

LEASE = timedelta(seconds=120)
BACKOFF_BASE = 5.0  # seconds after the first failure
BACKOFF_CAP = 600.0
PENDING = (State.QUEUED, State.SENDING)
ACK_GROUP = 100  # acknowledgements recorded per transaction


def backoff(failures, rng=random.random):
    """Exponential back-off with jitter: base·2^(n−1), capped, then scaled by a random 50–100 %."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, failures - 1))
    return timedelta(seconds=delay * (0.5 + rng() / 2))


def default_worker_id():
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:6]}"


# ---------------------------------------------------------------- claiming


def _due(now):
    return Q(state=State.QUEUED, next_attempt_at__lte=now) | Q(state=State.SENDING, claimed_until__lt=now)


def claim(platform, limit, now, worker_id, lease=LEASE):
    """Claim up to ``limit`` due items of ``platform`` for this worker; returns them in ``id`` order."""
    token = uuid.uuid4()
    ready = Q(after__isnull=True) | Q(after__state=State.ACKED)
    candidates = (OutboxItem.objects.filter(platform=platform, state__in=PENDING).filter(_due(now)).filter(ready)
                  .order_by("id"))
    claimed = {"state": State.SENDING, "claimed_by": worker_id[:100], "claim_token": token,
               "claimed_until": now + lease}
    if connection.vendor == "postgresql":
        with transaction.atomic():
            ids = list(candidates.select_for_update(skip_locked=True, of=("self",)).values_list("id", flat=True)[:limit])
            OutboxItem.objects.filter(id__in=ids).update(**claimed)
    else:
        ids = list(candidates.values_list("id", flat=True)[:limit])
        with transaction.atomic():
            # conditional: only rows still due when the write lock is held
            OutboxItem.objects.filter(id__in=ids, state__in=PENDING).filter(_due(now)).update(**claimed)
    return list(OutboxItem.objects.filter(claim_token=token).select_related("platform").order_by("id"))


def release(items):
    """Give claimed items back untouched (the batch stopped before them)."""
    OutboxItem.objects.filter(claim_token__in=[i.claim_token for i in items], state=State.SENDING).update(
        state=State.QUEUED, claim_token=None, claimed_by="", claimed_until=None)


# ---------------------------------------------------------------- payloads


def record_of(item):
    from django.apps import apps

    model = apps.get_model(item.record_table)
    return model.objects.get(pk=item.record_id)


def build_payload(item):
    """The mapped body of an item's record (kept on the item at the first attempt)."""
    if item.kind == Kind.PASSAGE:  # read as a batch's passages are (prepare_payloads)
        source = mapping.passage_sources([item.record_id]).get(str(uuid.UUID(item.record_id)))
        if source is None:
            raise LookupError(f"passage {item.record_id} is not in the database")
    else:
        source = mapping.source_of(item.kind, record_of(item))
    return mapping.map_fields(item.platform, item.kind, source)


def prepare_payloads(items):
    """Build the bodies of a batch's new passages with one query.

    A body is stored on the item with the outcome of its first attempt (acknowledged, dead or
    retried), in the statement that records the outcome; from then on the item always sends it.
    """
    fresh = [i for i in items if i.payload is None and i.kind == Kind.PASSAGE]
    if not fresh:
        return
    sources = mapping.passage_sources([i.record_id for i in fresh])
    for item in fresh:
        source = sources.get(str(uuid.UUID(item.record_id)))
        if source is not None:
            item.payload = mapping.map_fields(item.platform, item.kind, source)


def envelope(item, backfilled):
    data = dict(item.payload)
    if item.kind == Kind.PASSAGE_IMAGE:
        data["content"] = mapping.image_content(record_of(item))
    return {"recordId": item.platform_record_id, "kind": item.kind, "uploadType": "0" if backfilled else "1",
            "occurredAt": mapping.local_text(item.occurred_at), "data": data}


def is_backfilled(item, circuit, now):
    if item.reupload or item.attempts > 0:
        return True
    if (now - item.produced_at).total_seconds() > item.platform.realtime_seconds:
        return True
    if circuit.outage_started_at and item.produced_at >= circuit.outage_started_at:
        return True
    return bool(circuit.last_outage_start and circuit.last_outage_start <= item.produced_at
                <= (circuit.last_outage_end or now))


# ---------------------------------------------------------------- the worker


class Worker:
    """One worker process's loop; ``clock`` and ``rng`` are injectable for tests."""

    def __init__(self, worker_id=None, *, batch=50, lease=LEASE, clock=timezone.now, rng=random.random,
                 platform_ids=None):
        self.worker_id = worker_id or default_worker_id()
        self.batch = batch
        self.lease = lease
        self.clock = clock
        self.rng = rng
        self.platform_ids = platform_ids
        self.clients = {}
        self.acks = []

    def platforms(self):
        platforms = Platform.objects.filter(enabled=True).order_by("id")
        if self.platform_ids:
            platforms = platforms.filter(id__in=self.platform_ids)
        return list(platforms)

    def client(self, platform):
        cached = self.clients.get(platform.pk)
        if cached is None or cached[1] != _config_key(platform):
            if cached is not None:
                cached[0].close()
            cached = (PlatformClient(platform), _config_key(platform))
            self.clients[platform.pk] = cached
        return cached[0]

    def run_once(self, now=None):
        """One pass over every platform; returns counts of what happened."""
        totals = {"acked": 0, "dead": 0, "failed": 0}
        for platform in self.platforms():
            result = self.serve(platform, now or self.clock())
            for key in totals:
                totals[key] += result.get(key, 0)
        return totals

    def run(self, *, once=False, idle_sleep=1.0, stop=lambda: False):
        while not stop():
            totals = self.run_once()
            if once:
                return totals
            if not any(totals.values()):
                time.sleep(idle_sleep)

    def serve(self, platform, now):
        circuit, _ = CircuitState.objects.get_or_create(platform=platform)
        result = {"acked": 0, "dead": 0, "failed": 0}
        try:
            client = self.client(platform)
        except SecretMissing as exc:
            self._fail_circuit(circuit, now, f"configuration: {exc}")
            return {**result, "failed": 1}
        if circuit.state == Circuit.OPEN and circuit.open_until and now < circuit.open_until:
            return result
        probing = circuit.state != Circuit.CLOSED
        if probing:
            CircuitState.objects.filter(pk=circuit.pk).update(state=Circuit.HALF_OPEN)
            circuit.state = Circuit.HALF_OPEN
        if not probing:
            self._periodic(platform, circuit, client, now)
            if circuit.state == Circuit.OPEN:  # the heartbeat just failed
                return {**result, "failed": 1}
        items = claim(platform, 1 if probing else self.batch, now, self.worker_id, self.lease)
        if probing and not items:
            self._heartbeat(platform, circuit, client, now, force=True)
            return result
        prepare_payloads(items)
        try:
            for index, item in enumerate(items):
                outcome = self.deliver(item, circuit, client, now)
                result[{"acked": "acked", "dead": "dead"}.get(outcome, "failed")] += 1
                if outcome == "failed":
                    release(items[index + 1:])
                    break
        finally:
            self.flush_acks()
        return result

    def _periodic(self, platform, circuit, client, now):
        self._heartbeat(platform, circuit, client, now)
        if platform.pull_instructions and (circuit.last_pull_at is None or
                                           (now - circuit.last_pull_at).total_seconds() >= platform.pull_seconds):
            CircuitState.objects.filter(pk=circuit.pk).update(last_pull_at=now)
            circuit.last_pull_at = now
            try:
                instructions.pull(platform, client, now=now)
            except UplinkError as exc:
                logger.warning("pulling control measures from %s failed: %s", platform.code, exc)
        if circuit.last_alarm_check_at is None or (now - circuit.last_alarm_check_at) >= rates.ALARM_CHECK_EVERY:
            CircuitState.objects.filter(pk=circuit.pk).update(last_alarm_check_at=now)
            circuit.last_alarm_check_at = now
            rates.check_alarms(platform, now=now)

    # ------------------------------------------------------------ one item

    def deliver(self, item, circuit, client, now):
        """Send one claimed item; returns "acked", "dead" or "failed"."""
        started = time.monotonic()
        try:
            if item.payload is None:
                item.payload = build_payload(item)
            backfilled = is_backfilled(item, circuit, now)
            body = envelope(item, backfilled)
            receipt_id, duplicate = client.send_record(body)
        except Rejected as exc:
            self._dead(item, exc, now, started)
            self._succeed_circuit(circuit, now)
            return "dead"
        except (Transient, AuthFailed) as exc:
            self._retry(item, circuit, exc, now, started)
            return "failed"
        except Exception as exc:  # a record that cannot even be built: the manager must look at it
            logger.exception("uplink item %s could not be sent", item.pk)
            self._dead(item, Rejected(f"{exc.__class__.__name__}: {exc}"[:500]), now, started)
            return "dead"
        self._acked(item, receipt_id, duplicate, backfilled, body, now, started)
        self._succeed_circuit(circuit, now)
        return "acked"

    def _acked(self, item, receipt_id, duplicate, backfilled, body, now, started):
        digest = hashlib.sha256(json.dumps(body["data"], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        duration = int((time.monotonic() - started) * 1000)
        self.acks.append((item, receipt_id[:100], duplicate, backfilled, digest, now, duration))
        if len(self.acks) >= ACK_GROUP:
            self.flush_acks()

    def flush_acks(self):
        """Record the acknowledgements gathered so far in one transaction (one commit per group, not per
        record: a crash before it only means the platform sees these records again and deduplicates).

        A fixed number of statements per group: the items still ours (their claim token unchanged) are
        locked and read in one query, marked acked in one ``UPDATE``, their attempts logged in one insert
        and their receipts inserted and sealed as one batch of leaves.
        """
        if not self.acks:
            return
        acks, self.acks = self.acks, []
        with transaction.atomic():
            tokens = {item.claim_token for item, *_rest in acks}
            locked = OutboxItem.objects.filter(pk__in=[item.pk for item, *_rest in acks], claim_token__in=tokens)
            if connection.features.has_select_for_update:
                locked = locked.select_for_update()
            current = dict(locked.values_list("pk", "claim_token"))
            # an item whose lease ran out meanwhile belongs to another worker now: leave it alone
            ours = [ack for ack in acks if current.get(ack[0].pk) == ack[0].claim_token]
            _mark_acked(ours)
            DeliveryAttempt.objects.bulk_create([
                DeliveryAttempt(platform_id=item.platform_id, item=item, kind=item.kind, worker=self.worker_id[:100],
                                at=now, outcome=Outcome.DUPLICATE if duplicate else Outcome.ACKED, http_status=200,
                                duration_ms=duration, detail=receipt_id)
                for item, receipt_id, duplicate, _b, _d, now, duration in ours])
            # sealing takes the evidence log's lock until commit: do it last, so other workers wait least
            insert_sealed([
                UplinkReceipt(
                    platform_id=item.platform_id, item_id=item.pk, kind=item.kind, record_table=item.record_table,
                    record_id=item.record_id, record_version=item.record_version, receipt_id=receipt_id,
                    duplicate=duplicate, backfilled=backfilled, payload_sha256=digest, occurred_at=now)
                for item, receipt_id, duplicate, backfilled, digest, now, _duration in ours])

    def _dead(self, item, exc, now, started):
        message = f"{exc.field}: {exc}" if getattr(exc, "field", "") else str(exc)
        with transaction.atomic():
            OutboxItem.objects.filter(pk=item.pk, claim_token=item.claim_token).update(
                state=State.DEAD, attempts=item.attempts + 1, sent_at=now, last_error=message[:2000],
                claim_token=None, claimed_until=None, payload=item.payload)
            self._log(item.platform_id, item, Outcome.REJECTED, exc.status, started, now, message)

    def _retry(self, item, circuit, exc, now, started):
        wait_until = self._fail_circuit(circuit, now, str(exc))
        with transaction.atomic():
            OutboxItem.objects.filter(pk=item.pk, claim_token=item.claim_token).update(
                state=State.QUEUED, attempts=item.attempts + 1, sent_at=now, last_error=str(exc)[:2000],
                next_attempt_at=wait_until, claim_token=None, claimed_by="", claimed_until=None, payload=item.payload)
            outcome = Outcome.AUTH if isinstance(exc, AuthFailed) else Outcome.TRANSIENT
            self._log(item.platform_id, item, outcome, exc.status, started, now, str(exc))

    def _log(self, platform_id, item, outcome, status, started, now, detail=""):
        DeliveryAttempt.objects.create(
            platform_id=platform_id, item=item, kind=item.kind if item else Kind.HEARTBEAT, worker=self.worker_id[:100],
            at=now, outcome=outcome, http_status=status, duration_ms=int((time.monotonic() - started) * 1000),
            detail=str(detail)[:1000])

    # ------------------------------------------------------------ circuit breaker

    def _fail_circuit(self, circuit, now, error):
        circuit.failures += 1
        circuit.state = Circuit.OPEN
        circuit.open_until = now + backoff(circuit.failures, self.rng)
        circuit.outage_started_at = circuit.outage_started_at or now
        circuit.last_error = error[:2000]
        CircuitState.objects.filter(pk=circuit.pk).update(
            state=circuit.state, failures=circuit.failures, open_until=circuit.open_until,
            outage_started_at=circuit.outage_started_at, last_error=circuit.last_error)
        logger.warning("platform %s failing (%d): %s", circuit.platform_id, circuit.failures, error)
        return circuit.open_until

    def _succeed_circuit(self, circuit, now):
        if circuit.state == Circuit.CLOSED and not circuit.failures:
            if circuit.last_success_at is None or (now - circuit.last_success_at).total_seconds() > 5:
                circuit.last_success_at = now
                CircuitState.objects.filter(pk=circuit.pk).update(last_success_at=now)
            return
        changes = {"state": Circuit.CLOSED, "failures": 0, "open_until": None, "last_success_at": now}
        if circuit.outage_started_at:
            changes.update(last_outage_start=circuit.outage_started_at, last_outage_end=now, outage_started_at=None)
        for key, value in changes.items():
            setattr(circuit, key, value)
        CircuitState.objects.filter(pk=circuit.pk).update(**changes)

    # ------------------------------------------------------------ heartbeat

    def _heartbeat(self, platform, circuit, client, now, force=False):
        if not force and circuit.last_heartbeat_at and \
                (now - circuit.last_heartbeat_at).total_seconds() < platform.heartbeat_seconds:
            return
        started = time.monotonic()
        backlog = OutboxItem.objects.filter(platform=platform, state__in=PENDING).count()
        circuit.last_heartbeat_at = now
        try:
            client.heartbeat({"entNo": platform.enterprise_code, "time": mapping.local_text(now), "backlog": backlog,
                              "status": "1"})
        except UplinkError as exc:
            CircuitState.objects.filter(pk=circuit.pk).update(last_heartbeat_at=now, heartbeat_ok=False)
            self._log(platform.pk, None, Outcome.TRANSIENT, exc.status, started, now, f"heartbeat: {exc}")
            self._fail_circuit(circuit, now, f"heartbeat: {exc}")
            return
        CircuitState.objects.filter(pk=circuit.pk).update(last_heartbeat_at=now, heartbeat_ok=True)
        self._log(platform.pk, None, Outcome.ACKED, 200, started, now, "heartbeat")
        self._succeed_circuit(circuit, now)


_ACKED_COLUMNS = ("state", "acked_at", "sent_at", "receipt_id", "backfilled", "attempts", "claim_token",
                  "claimed_until", "last_error", "payload")


def _mark_acked(acks):
    for item, receipt_id, _duplicate, backfilled, _digest, now, _duration in acks:
        item.state, item.acked_at, item.sent_at, item.receipt_id = State.ACKED, now, now, receipt_id
        item.backfilled, item.attempts, item.last_error = backfilled, item.attempts + 1, ""
        item.claim_token = item.claimed_until = None
    update_each([ack[0] for ack in acks], _ACKED_COLUMNS)


def update_each(items, columns):
    """Write ``columns`` of each outbox item, each row its own values, in one round trip.

    ``bulk_update`` builds a ``CASE`` per column and row, which costs more CPU than delivering the
    records. On PostgreSQL one ``UPDATE … FROM (VALUES …)``; elsewhere one prepared ``UPDATE`` run
    for every row (``executemany``: SQLite has no network round trip to save). Values are prepared as
    ``save()`` prepares them.
    """
    if not items:
        return
    quote = connection.ops.quote_name
    meta = OutboxItem._meta
    fields = [meta.get_field(name) for name in columns]
    rows = [[field.get_db_prep_save(getattr(item, field.attname), connection) for field in fields] + [item.pk]
            for item in items]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = [f"c{n}" for n in range(len(fields))]
            assignments = ", ".join(f"{quote(field.column)} = v.{name}::{field.cast_db_type(connection)}"
                                    for field, name in zip(fields, names))
            placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"] * len(rows))
            cursor.execute(f"UPDATE {table} SET {assignments} FROM (VALUES {placeholders}) AS v({', '.join(names)}, "
                           f"id) WHERE {table}.{pk} = v.id::bigint", [value for row in rows for value in row])
        else:
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)


def _config_key(platform):
    return (platform.base_url, platform.app_id, platform.app_secret_ref, platform.private_key_ref,
            platform.platform_public_key, platform.profile, platform.timeout_seconds)
