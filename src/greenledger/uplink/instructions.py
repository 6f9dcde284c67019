"""Regulator control measures (管控指令) in: pulled from the platform's feed or pushed to us, applied
to the gate's alert level, acknowledged back.

An instruction looks like the "entranceControl" feed (``../shared/domain/gate.md`` §2)::

    {"id": "CM-20261130-01", "startTime": "2026-11-30 08:00:00", "endTime": "2026-12-02 00:00:00",
     "warningLevel": "橙色", "respondLevel": "II级", "controlMeasures": "禁止国四及以下柴油货车进出"}

It is stored exactly as received (sealed ``InboundInstruction``, once per platform and id), then
``gate.alerts.switch_alert(source=regulator)`` records the alert period. An instruction that
cannot be applied (unknown level, bad times) is kept with the reason and acknowledged as not
applied, so the regulator learns of it; nothing is dropped.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .mapping import local_text
from .models import InboundInstruction


def _when(text):
    if not text:
        return None
    if isinstance(text, datetime.datetime):
        value = text
    else:
        value = parse_datetime(str(text).strip().replace("/", "-"))
        if value is None:
            raise ValidationError({"startTime": f"not a date and time: {text!r}"}, code="invalid")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def apply(platform, raw, *, channel, now=None):
    """Store and apply one instruction; returns ``(instruction, created)``. Idempotent by regulator id."""
    from greenledger.gate.alerts import switch_alert
    from greenledger.gate.models import AlertSource

    regulator_id = str(raw.get("id") or "").strip()[:100]
    if not regulator_id:
        raise ValidationError({"id": "the instruction has no id"}, code="required")
    existing = InboundInstruction.objects.filter(platform=platform, regulator_id=regulator_id).first()
    if existing is not None:
        return existing, False
    try:
        starts_at, ends_at = _when(raw.get("startTime")), _when(raw.get("endTime"))
        time_error = ""
    except ValidationError as exc:
        starts_at = ends_at = None
        time_error = "; ".join(exc.messages)
    try:
        with transaction.atomic():
            instruction = InboundInstruction.objects.create(
                platform=platform, regulator_id=regulator_id, channel=channel,
                warning_level=str(raw.get("warningLevel") or "")[:20], response_level=str(raw.get("respondLevel") or "")[:20],
                starts_at=starts_at, ends_at=ends_at, measures_text=str(raw.get("controlMeasures") or ""), raw=raw,
                occurred_at=_safe_when(raw.get("publishTime")), recorded_at=now or timezone.now())
            error = time_error
            if not error:
                try:
                    with transaction.atomic():
                        period = switch_alert(
                            platform.site, instruction.warning_level or instruction.response_level,
                            starts_at=starts_at, ends_at=ends_at,
                            reason=f"{platform.name}: {regulator_id} {instruction.warning_level} "
                                   f"{instruction.response_level}".strip(),
                            measures_text=instruction.measures_text, source=AlertSource.REGULATOR,
                            regulator_ref=regulator_id)
                    instruction.alert_period_id = period.pk
                except ValidationError as exc:
                    error = "; ".join(exc.messages)
            instruction.apply_error = error
            instruction.save(update_fields=["alert_period_id", "apply_error"])
    except IntegrityError:  # the same instruction arrived twice at once (pull and push)
        return InboundInstruction.objects.get(platform=platform, regulator_id=regulator_id), False
    return instruction, True


def _safe_when(text):
    try:
        return _when(text)
    except ValidationError:
        return None


def acknowledgement(instruction, now=None):
    return {"id": instruction.regulator_id, "received": True, "applied": not instruction.apply_error,
            "message": instruction.apply_error, "receivedAt": local_text(instruction.recorded_at),
            "appliedAt": local_text(now or timezone.now()), "entNo": instruction.platform.enterprise_code}


def mark_acknowledged(instruction, now=None, error=""):
    instruction.acknowledged_at = None if error else (now or timezone.now())
    instruction.ack_error = error[:1000]
    instruction.save(update_fields=["acknowledged_at", "ack_error"])


def pull(platform, client, *, now=None):
    """Fetch the control-measure feed, apply what is new, acknowledge what is not acknowledged yet."""
    from .client import UplinkError

    applied = 0
    for raw in client.control_measures():
        if not isinstance(raw, dict):
            continue
        try:
            instruction, created = apply(platform, raw, channel="pull", now=now)
        except ValidationError:
            continue
        applied += int(created)
        if instruction.acknowledged_at is None:
            try:
                client.acknowledge(instruction.regulator_id, acknowledgement(instruction, now))
            except UplinkError as exc:
                mark_acknowledged(instruction, now, str(exc))
            else:
                mark_acknowledged(instruction, now)
    return applied
