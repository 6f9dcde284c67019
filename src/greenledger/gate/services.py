"""Gate services other parts call: a camera push in, a passage out (进出厂记录).

- :func:`process_push` — everything behind ``POST /api/gate/cameras/<code>/events``: camera
  token check, the raw push stored once (``CameraEvent``), parsing by the camera's protocol,
  the decision, the sealed ``Passage`` with its snapshots, the exit paired with its entry, the
  reply that opens (or keeps shut) the barrier, and the Hikvision barrier command after commit.
  It is :func:`accept_push` (read only: decide and build the reply) then :func:`write_push`; the
  endpoint answers between the two, with the decided push in ``PUSH_SPOOL`` until it is written.
- :func:`record_passage` — decide and write one passage (camera intake, the guard's manual entry,
  the demo).

Camera authentication: cameras cannot add headers, so the API token (purpose "camera", bound to
the camera's site) may be put in the push URL as ``?token=glt_…``; ``Authorization: Bearer`` and
``X-Api-Key`` work too. A bad token stores nothing (HTTP 401). Everything else that arrives with a
good token is kept raw, even when it cannot be read (state "failed", the environmental managers
are told) or names an unknown camera.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenledger.core.attachments import attach, prepare as prepare_attachment
from greenledger.core.models import Attachment, NotificationLevel, Site
from greenledger.core.notifications import notify
from greenledger.core.prepared import Prepared
from greenledger.core.spool import Spool
from greenledger.evidence.services import sealing_together

from . import rules
from .adapters import CameraPush, Outcome, PushError, adapter_for, guess_protocol
from .alerts import people_to_tell
from .codes import Decision, Direction
from .models import BarrierKind, Camera, CameraEvent, ParseState, Passage, VehicleKind
from .registry import ledger_fields
from .validation import normalize_plate

logger = logging.getLogger("greenledger.gate")

# A plate read older than this is history (a replay or a camera that was cut off): never open for it.
OLD_EVENT = timedelta(minutes=5)
LAST_SEEN_EVERY = timedelta(seconds=5)
FAILED_ALARM_QUIET = timedelta(minutes=10)
JSON = "application/json"


# ---------------------------------------------------------------- one passage


def record_passage(*, lane, plate, plate_color, occurred_at, direction, confidence=None, camera=None, event=None,
                   images=(), cargo=None, user=None, open_barrier=None):
    """Decide and write one sealed passage through ``lane``; returns the ``Passage``.

    ``images``: ``(caption, bytes or file)`` pairs stored as attachments ("plate", "scene", or any
    caption). ``cargo``: a cargo name, or ``{"name": …, "weight_t": …}``; it takes part in the
    rules (cargo exemptions) and is kept on the passage. A live passage (captured within five
    minutes) is decided under the alert level in force now, an older one (offline replay, late
    entry) under the level at its capture time. ``open_barrier``: True when the
    barrier opens by itself for a pass (camera relay), False when it cannot open, None when not known
    yet (a separate command follows); ``barrier_opened`` is recorded from it and the decision.
    """
    passage = decided_passage(lane=lane, plate=plate, plate_color=plate_color, occurred_at=occurred_at,
                              direction=direction, confidence=confidence, camera=camera, event=event, cargo=cargo,
                              open_barrier=open_barrier)
    with transaction.atomic(), sealing_together():
        write_passage(passage, images, user)
    return passage


def decided_passage(*, lane, plate, plate_color, occurred_at, direction, confidence=None, camera=None, event=None,
                    cargo=None, open_barrier=None):
    """The decided, not yet saved ``Passage`` (its id is already set): only reads the database.

    Deciding before the write transaction keeps the time the evidence log's head is locked short.
    """
    site = lane.gate.site
    plate = normalize_plate(plate)
    cargo_name, cargo_weight = _cargo(cargo)
    now = timezone.now()
    when = now if abs(now - occurred_at) <= OLD_EVENT else occurred_at
    verdict, subject, obj, policy = rules.decide(site, plate, plate_color, direction=direction, when=when,
                                                 cargo=cargo_name, confidence=confidence)
    ledger = ledger_fields(obj)
    return Passage(
        site=site, gate=lane.gate, lane=lane, camera=camera, event=event, direction=direction,
        occurred_at=occurred_at, plate=plate, plate_color=plate_color or "unknown", confidence=confidence,
        vehicle_kind=subject.kind, vehicle=obj if subject.kind == VehicleKind.ROAD else None,
        in_plant_vehicle=obj if subject.kind == VehicleKind.IN_PLANT else None,
        machine=obj if subject.kind == VehicleKind.NRMM else None, vehicle_class=subject.vehicle_class,
        ledger=ledger, fuel=subject.fuel or "", stage=subject.stage, carrier_name=ledger.get("carrier", "")[:200],
        alert_level=policy.alert_level, grade=policy.grade, decision=verdict.decision, reason=verdict.reason[:300],
        rule_ref=verdict.rule_ref[:200], display_text=verdict.display[:200], cargo_name=cargo_name,
        cargo_weight_t=cargo_weight,
        barrier_opened=None if open_barrier is None else bool(open_barrier and verdict.decision == Decision.PASS),
    )


def write_passage(passage, images=(), user=None):
    """Insert and seal a decided passage with its snapshots; an exit is paired with its entry first.

    Call inside ``transaction.atomic()``. The exit gets its pairing before the insert (the pairing
    columns are derived, not sealed), so only the entry is updated afterwards. ``images`` are
    ``(caption, bytes or file)`` pairs or the Attachments :func:`stored_images` prepared.
    """
    entry = _open_entry(passage) if passage.direction == Direction.OUT and passage.plate else None
    if entry is not None:
        passage.paired_id = entry.pk
        passage.dwell_seconds = int((passage.occurred_at - entry.occurred_at).total_seconds())
    passage.save(force_insert=True)
    for image in images:
        if isinstance(image, Attachment):  # checked and its file stored before (stored_images)
            image.save()
        else:
            _attach_image(passage, *image, user)
    if entry is not None:
        entry.paired_id, entry.dwell_seconds = passage.pk, passage.dwell_seconds
        entry.save(update_fields=["paired_id", "dwell_seconds"])
    return passage


def _cargo(cargo):
    if not cargo:
        return "", None
    if isinstance(cargo, str):
        return cargo.strip()[:100], None
    weight = cargo.get("weight_t")
    try:
        weight = Decimal(str(weight)) if weight not in (None, "") else None
    except InvalidOperation:
        raise ValidationError({"cargo_weight_t": _("Cargo weight must be a number of tonnes.")}, code="invalid")
    return str(cargo.get("name") or "").strip()[:100], weight


def _attach_image(passage, caption, data, user, store=False):
    """Attach one snapshot (with ``store``: only check it and write its file, returning the unsaved
    Attachment); a snapshot that is refused is logged and left out, never failing the passage."""
    upload = ContentFile(data, name=f"{caption}.jpg") if isinstance(data, (bytes, bytearray)) else data
    try:  # checks size and type before it writes anything: no savepoint needed
        if store:
            return prepare_attachment(passage, upload, user=user, caption=caption, occurred_at=passage.occurred_at,
                                      store=True)
        return attach(passage, upload, user=user, caption=caption, occurred_at=passage.occurred_at)
    except ValidationError as exc:  # the raw push still holds the bytes
        logger.warning("snapshot %s of passage %s not stored: %s", caption, passage.pk, exc.messages)
        return None


def stored_images(passage, images, user=None):
    """The snapshots of a passage not inserted yet, checked and their files written — before the
    write transaction, which then only inserts their rows (``write_passage`` takes them)."""
    prepared = [_attach_image(passage, caption, data, user, store=True) for caption, data in images]
    return [attachment for attachment in prepared if attachment is not None]


def _open_entry(exit_passage):
    """The latest unpaired, not blocked entry of the exit's plate at its site before it, or None."""
    return _open_entries.first(site_id=exit_passage.site_id, plate=exit_passage.plate,
                               before=exit_passage.occurred_at, exit_id=exit_passage.pk)


_open_entries = Prepared(lambda site_id, plate, before, exit_id: Passage.objects.filter(
    site_id=site_id, plate=plate, direction=Direction.IN, paired_id__isnull=True, occurred_at__lte=before)
    .exclude(final_decision=Decision.BLOCK).exclude(pk=exit_id).order_by("-occurred_at", "-pk")
    .only("id", "occurred_at")[:1])


# ---------------------------------------------------------------- camera pushes


def process_push(camera_code, body: bytes, content_type: str, *, token=None):
    """Handle one camera push; returns ``(HTTP status, reply body bytes, reply content type)``.

    Everything is written before it returns. The HTTP endpoint answers first and writes after
    (:func:`accept_push`, :data:`PUSH_SPOOL`)."""
    status, reply, reply_type, pending = accept_push(camera_code, body, content_type, token=token)
    if pending is not None and write_push(pending) is None:
        # the same event arrived twice at once and the other request stored it: its reply again
        stored = _stored(pending.event.camera_code, pending.event.event_key)
        if stored is not None:
            status, reply, reply_type = adapter_for(pending.event.protocol).reply(stored)
    return status, reply, reply_type


def accept_push(camera_code, body: bytes, content_type: str, *, token=None):
    """Decide one camera push without writing its passage: ``(status, reply, content type, pending)``.

    ``pending`` is the decided, not yet written push (a :class:`PendingPush`) or None (a repeat, a
    heartbeat, an error — written already where it is kept). The caller writes it with
    :func:`write_push`, or spools it, answers the camera and writes it after (the endpoint)."""
    api_token = camera_token(token)
    if api_token is None:
        return (*_json_error(401, "authentication", _("Send a camera API token (?token=… in the push URL).")), None)
    camera = _camera_by_code.first(code=camera_code)
    if camera is not None and camera.lane.gate.site_id != api_token.site_id:
        return (*_json_error(403, "permission", _("This token belongs to another site.")), None)
    if camera is None or not camera.active:
        error = _("Unknown camera code %(code)s") % {"code": camera_code} if camera is None else _("Camera inactive")
        _store_failed(camera, camera_code, body, content_type, str(error), api_token.site)
        return (*_json_error(404, "not_found", error), None)
    adapter = adapter_for(camera.protocol)
    try:
        push = adapter.parse(body, content_type or "", camera)
    except PushError as exc:
        _store_failed(camera, camera_code, body, content_type, str(exc), camera.site)
        _touch(camera)
        return (*adapter.reply(Outcome(None, error=str(exc))), None)
    if push.kind == "heartbeat":
        _touch(camera)
        _store_heartbeat(camera, push, body, content_type)
        return (*adapter.reply(Outcome(push)), None)
    outcome, pending = _decide_plate(camera, push, body, content_type)
    if pending is None:
        _touch(camera)
    else:  # the camera's "last seen" is written with the push, not before the reply
        pending.touch = _touch_due(camera)
    return (*adapter.reply(outcome), pending)


@dataclass
class PendingPush:
    """A decided camera push whose event, passage and snapshots are not written yet."""

    event: CameraEvent
    passage: Passage
    images: list  # (caption, bytes)
    command_barrier: bool  # a Hikvision barrier command follows the write
    touch: bool = False  # the camera's last_seen_at is due

    def record(self):
        """Plain values for the spool: rebuilt by :meth:`from_record` in another process."""
        return {"event": _values(self.event), "passage": _values(self.passage), "images": self.images,
                "command_barrier": self.command_barrier, "touch": self.touch}

    @classmethod
    def from_record(cls, record):
        event, passage = CameraEvent(**record["event"]), Passage(**record["passage"])
        passage.event = event
        return cls(event, passage, record["images"], record["command_barrier"], record["touch"])


def _values(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def write_push(pending):
    """Write a decided push once: its raw event, the sealed passage with its snapshots (the files
    before the transaction), the exit's pairing; then the Hikvision barrier command. Returns the
    passage, or None when the event was stored already (a repeat, a replayed spool record)."""
    event, passage = pending.event, pending.passage
    # no second look for the event before writing (the push was decided a moment ago, after one):
    # a repeat fails on the event's unique key, and its files are removed
    snapshots = stored_images(passage, pending.images)  # files written outside the write transaction
    try:
        with transaction.atomic(), sealing_together():  # event, passage, snapshots: one append to the log
            event.save(force_insert=True)
            write_passage(passage, snapshots)
    except Exception as exc:
        for snapshot in snapshots:  # their rows rolled back: no file without its row
            snapshot.file.storage.delete(snapshot.file.name)
        # the same event arrived twice at once: the other request stored it
        if isinstance(exc, IntegrityError) and _event_by_key.first(camera_code=event.camera_code,
                                                                   event_key=event.event_key) is not None:
            return None
        raise
    if pending.touch:
        Camera.objects.filter(pk=event.camera_id).update(last_seen_at=event.recorded_at)
    if pending.command_barrier:
        from .barrier import open_barrier

        open_barrier(passage.lane, passage=passage)
    return passage


def _push_set_aside(record, error):
    """A decided push that could not be written: the environmental managers of its site are told
    (the camera had its answer; the push waits in the spool's failed file)."""
    passage = record["passage"]
    site = Site.objects.filter(pk=passage["site_id"]).first()
    if site is None:
        return
    notify(people_to_tell(site, roles=("environmental_manager",)),
           _("Camera push answered but not written: %(plate)s") % {"plate": passage["plate"] or "—"},
           _("Camera %(camera)s, %(when)s, decision %(decision)s. Kept in the spool's failed file on the "
             "server. %(error)s") % {"camera": record["event"]["camera_code"],
                                     "when": f"{timezone.localtime(passage['occurred_at']):%Y-%m-%d %H:%M:%S}",
                                     "decision": Decision(passage["decision"]).label, "error": str(error)[:300]},
           level=NotificationLevel.WARNING, channels=())


PUSH_SPOOL = Spool("gate-pushes", apply=write_push, replay=lambda record: write_push(PendingPush.from_record(record)),
                   set_aside=_push_set_aside)


# the lookups of every push, compiled once (core.prepared); key_hash and (camera_code, event_key) are unique
_camera_by_code = Prepared(lambda code: Camera.objects.select_related("lane__gate__site").filter(code=code)[:1])
_event_by_key = Prepared(lambda camera_code, event_key: CameraEvent.objects.filter(
    camera_code=camera_code, event_key=event_key).order_by("pk")[:1])


def camera_token(secret):
    """The active API token with purpose "camera" for ``secret``, or None."""
    if not secret:
        return None
    from greenledger.api import TokenAuth

    found = TokenAuth().authenticate(None, secret)
    return found if found is not None and found.purpose == "camera" else None


def _decide_plate(camera, push, body, content_type):
    """``(outcome, pending)`` of a plate read: decided, not written; a repeat of a stored event
    returns the stored outcome and no pending push."""
    existing = _stored(camera.code, push.event_key)
    if existing is not None:
        return existing, None
    lane = camera.lane
    occurred_at = push.occurred_at or timezone.now()
    now = timezone.now()
    should_open = _may_open(push.offline, occurred_at, now)
    passage = decided_passage(
        lane=lane, plate=push.plate, plate_color=push.plate_color, occurred_at=occurred_at,
        direction=push.direction or lane.direction, confidence=push.confidence, camera=camera,
        open_barrier=_relay_opens(lane, should_open))
    # the event names its passage from the start (a derived column), so neither row is updated later
    event = CameraEvent(
        camera=camera, camera_code=camera.code, protocol=camera.protocol, event_key=push.event_key,
        content_type=(content_type or "")[:120], body=body, body_sha256=hashlib.sha256(body).hexdigest(),
        state=ParseState.PARSED, offline_replay=push.offline, occurred_at=occurred_at, recorded_at=now,
        passage_id=passage.pk)
    passage.event = event
    outcome = _outcome(push, passage, should_open)
    command = lane.barrier == BarrierKind.HIKVISION and outcome.open_barrier
    return outcome, PendingPush(event, passage, list(push.images), command)


def _relay_opens(lane, should_open):
    """Whether the reply itself opens the barrier for a pass; None when a command follows."""
    if lane.barrier == BarrierKind.HIKVISION:
        return None if should_open else False
    return should_open and lane.barrier == BarrierKind.CAMERA_RELAY


def _may_open(offline, occurred_at, now):
    return not offline and now - occurred_at <= OLD_EVENT


def _outcome(push, passage, should_open):
    return Outcome(push, decision=passage.decision, reason=passage.reason, display=passage.display_text,
                   passage_id=str(passage.pk), open_barrier=should_open and passage.decision == Decision.PASS)


def _stored(camera_code, event_key):
    """The outcome of an event already stored (the same reply again), or None."""
    event = _event_by_key.first(camera_code=camera_code, event_key=event_key)
    if event is None:
        return None
    push = CameraPush(kind="plate", event_key=event_key, offline=event.offline_replay,
                      reply_token=_reply_token(event))
    passage = Passage.objects.filter(pk=event.passage_id).first() if event.passage_id else None
    if passage is None:
        return Outcome(push, error=event.error or _("stored without a passage"))
    should_open = _may_open(event.offline_replay, event.occurred_at or event.recorded_at, event.recorded_at)
    return _outcome(push, passage, should_open)


def _reply_token(event):
    if event.protocol != "zhenshi":
        return {}
    plate_id = event.event_key.rsplit(":", 1)[-1]
    return {"plateid": int(plate_id) if plate_id.isdigit() else plate_id}


def _store_heartbeat(camera, push, body, content_type):
    if CameraEvent.objects.filter(camera_code=camera.code, event_key=push.event_key).exists():
        return
    try:
        with transaction.atomic():
            CameraEvent.objects.create(
                camera=camera, camera_code=camera.code, protocol=camera.protocol, event_key=push.event_key,
                content_type=(content_type or "")[:120], body=body[:4000], body_sha256=hashlib.sha256(body).hexdigest(),
                state=ParseState.HEARTBEAT)
    except IntegrityError:
        pass


def _store_failed(camera, camera_code, body, content_type, error, site):
    """Keep an unreadable push raw (once per identical body) and alarm, at most every ten minutes."""
    digest = hashlib.sha256(body).hexdigest()
    protocol = camera.protocol if camera is not None else guess_protocol(body, content_type)
    now = timezone.now()
    recent = CameraEvent.objects.filter(camera_code=camera_code[:60], state=ParseState.FAILED,
                                        recorded_at__gte=now - FAILED_ALARM_QUIET).exists()
    try:
        with transaction.atomic():
            CameraEvent.objects.create(
                camera=camera, camera_code=camera_code[:60], protocol=protocol, event_key=f"failed:{digest[:64]}",
                content_type=(content_type or "")[:120], body=body, body_sha256=digest, state=ParseState.FAILED,
                error=error[:2000], recorded_at=now)
    except IntegrityError:
        return
    if not recent:
        notify(people_to_tell(site, roles=("environmental_manager",)),
               _("Camera push not understood: %(camera)s") % {"camera": camera_code},
               _("Kept raw for inspection. %(error)s") % {"error": error[:300]}, level=NotificationLevel.WARNING,
               channels=())


def _touch_due(camera):
    return camera.last_seen_at is None or timezone.now() - camera.last_seen_at > LAST_SEEN_EVERY


def _touch(camera):
    if _touch_due(camera):
        Camera.objects.filter(pk=camera.pk).update(last_seen_at=timezone.now())


def _json_error(status, rule, message):
    import json

    body = {"errors": [{"field": "", "rule": rule, "message": str(message)}]}
    return status, json.dumps(body, ensure_ascii=False).encode(), JSON
