"""Measure ledger services: record an execution, correct it, approve late entries, confirm
contractor work, report and handle anomalies, record hourly status.

Every function here writes its ledger rows and their evidence seals in one transaction; views
and the API only translate requests into these calls.
"""

import base64
import binascii
import datetime
import uuid
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenledger.core.attachments import attach
from greenledger.core.models import NotificationLevel, Person
from greenledger.core.notifications import notify

from .models import (
    Anomaly, AnomalyEvent, AnomalyState, ApprovalState, ContractorAssignment, ContractorConfirmation,
    DueExecution, EquipmentStatus, ExecutionRecord, HourlyStatus, LateEntryDecision, Measure, MeasureType,
    ParameterSource, RecordSource, ReviewFlag, ValueType,
)


class NeedsConfirmation(Exception):
    """Values look implausible; the person must confirm them (or fix them) before they are stored."""

    def __init__(self, warnings):
        super().__init__("; ".join(w["message"] for w in warnings))
        self.warnings = warnings


@dataclass
class RecordInput:
    measure: Measure
    occurred_at: datetime.datetime
    executor: Person
    entered_by: object = None
    values: dict = field(default_factory=dict)
    remarks: str = ""
    batch_no: str = ""
    equipment: object = None
    tag_scanned: str = ""
    compliant: bool | None = None
    checklist: dict = field(default_factory=dict)
    source: str = RecordSource.WEB
    client_id: uuid.UUID | None = None
    entered_at: datetime.datetime | None = None
    late_reason: str = ""
    confirmed: bool = False
    photos: list = field(default_factory=list)  # UploadedFile / ContentFile
    corrects: ExecutionRecord | None = None
    correction_reason: str = ""


# Who may record -----------------------------------------------------------------------------


def is_contractor(user):
    return user is not None and user.groups.filter(name="contractor").exists()


def contractor_assignment(user, measure, moment):
    return ContractorAssignment.objects.filter(
        user=user, measures=measure, valid_from__lte=moment, valid_to__gte=moment
    ).select_related("company_contact__user").first()


def check_may_record(user, measure, occurred_at, now=None):
    """Contractors record only their bound measures, only inside their validity window."""
    if user is None or not is_contractor(user):
        return None
    now = now or timezone.now()
    assignment = contractor_assignment(user, measure, occurred_at)
    if assignment is None or not assignment.is_valid_at(now):
        raise PermissionDenied(_("This contractor account may not record %(measure)s at this time.")
                               % {"measure": measure.name})
    return assignment


# Validation ---------------------------------------------------------------------------------


def clean_values(measure, raw):
    """Type-check parameter values; return (values, warnings). Errors raise ValidationError."""
    values, warnings, errors = {}, [], {}
    params = {p.code: p for p in measure.parameters.all()}
    for code in raw:
        if code not in params:
            errors[f"values.{code}"] = ValidationError(_("Unknown parameter %(code)s.") % {"code": code},
                                                       code="unknown_parameter")
    for code, param in params.items():
        value = raw.get(code)
        if value in (None, ""):
            if param.required and param.source == ParameterSource.MANUAL:
                errors[f"values.{code}"] = ValidationError(_("%(name)s is required.") % {"name": param.name},
                                                           code="required")
            continue
        if param.value_type == ValueType.NUMBER:
            try:
                value = float(value)
            except (TypeError, ValueError):
                errors[f"values.{code}"] = ValidationError(_("%(name)s must be a number.") % {"name": param.name},
                                                           code="number")
                continue
            if not param.in_range(value):
                warnings.append({
                    "field": f"values.{code}", "rule": "out_of_range",
                    "message": _("%(name)s = %(value)s %(unit)s is outside %(low)s–%(high)s. Please confirm.") % {
                        "name": param.name, "value": f"{value:g}", "unit": param.unit,
                        "low": "" if param.min_value is None else f"{param.min_value.normalize():f}",
                        "high": "" if param.max_value is None else f"{param.max_value.normalize():f}"},
                })
        elif param.value_type == ValueType.BOOLEAN:
            if isinstance(value, str):
                value = value.strip().lower() in ("1", "true", "yes", "on", "是", "y")
            else:
                value = bool(value)
        else:
            value = str(value)[:500]
        values[code] = value
    if errors:
        raise ValidationError(errors)
    return values, warnings


def telemetry_window(measure, occurred_at, before=15, after=5):
    """Readings of the measure's telemetry-bound parameters from ``before`` minutes before the
    execution to ``after`` minutes after it: {parameter code: (parameter, [(ts, value), ...])}."""
    bound = [p for p in measure.parameters.all() if p.source == ParameterSource.TELEMETRY and p.telemetry_point]
    if not bound:
        return {}
    from greenledger.telemetry.models import MeasuringPoint, Reading

    points = {point.code: point for point in MeasuringPoint.objects.filter(
        site_id=measure.site_id, code__in=[p.telemetry_point for p in bound])}
    window = {}
    for param in bound:
        point = points.get(param.telemetry_point)
        if point is None:
            continue
        readings = list(Reading.objects.filter(
            point=point, ts__gte=occurred_at - datetime.timedelta(minutes=before),
            ts__lte=occurred_at + datetime.timedelta(minutes=after)).order_by("ts").values_list("ts", "value"))
        if readings:
            window[param.code] = (param, readings)
    return window


def sensor_checks(measure, occurred_at, values, compliant):
    """Fill empty sensor-bound values from telemetry, and warn when the sensor contradicts the entry
    (e.g. seal test passed while the test pressure left its range): the person must confirm."""
    warnings = []
    for code, (param, readings) in telemetry_window(measure, occurred_at).items():
        nearest = min(readings, key=lambda reading: abs(reading[0] - occurred_at))
        values.setdefault(code, round(nearest[1], 4))
        outside = [value for _ts, value in readings if not param.in_range(value)]
        if outside and compliant is not False:
            warnings.append({
                "field": f"values.{code}", "rule": "sensor_contradiction",
                "message": _("%(name)s (%(point)s) left its range %(low)s–%(high)s around this time: %(values)s. "
                             "Please confirm the result.") % {
                    "name": param.name, "point": param.telemetry_point,
                    "low": "" if param.min_value is None else f"{param.min_value.normalize():f}",
                    "high": "" if param.max_value is None else f"{param.max_value.normalize():f}",
                    "values": ", ".join(f"{v:g}" for v in outside[:5])},
            })
    return warnings


def lateness(measure, occurred_at, entered):
    """Minutes by which the entry came after the grace window (0 when on time)."""
    delay = (entered - occurred_at).total_seconds() / 60
    return max(0, delay - measure.grace_minutes)


def derive_compliant(measure, values, given):
    if given is not None:
        return given
    if measure.measure_type == MeasureType.INSPECTION:
        params = [p for p in measure.parameters.all() if p.value_type == ValueType.NUMBER and p.code in values]
        if params:
            return all(p.in_range(values[p.code]) for p in params)
    return None


def bigrams(text):
    """The distinct two-character pieces of each word of ``text``, space separated."""
    return " ".join(sorted({word[i:i + 2] for word in text.split() for i in range(len(word) - 1)}))


def search_text_for(measure, record_fields):
    """The words a free-text search should find this record by (measure, stage, site, remarks…)."""
    site = measure.site
    occurred = timezone.localtime(record_fields["occurred_at"])
    words = [
        measure.code, measure.name, measure.stage.name, site.name, site.get_industry_display(),
        measure.get_measure_type_display(), measure.equipment.name if measure.equipment_id else "",
        record_fields.get("remarks", ""), record_fields.get("batch_no", ""), record_fields.get("late_reason", ""),
        occurred.strftime("%Y%m%d %Y-%m-%d"), record_fields.get("executor_name", ""),
    ]
    return " ".join(w for w in words if w).lower()


# Recording ----------------------------------------------------------------------------------


def record_execution(data: RecordInput, now=None):
    """Store one execution; return ``(record, created, warnings)``.

    The same ``client_id`` twice returns the first record unchanged (offline phones retry).
    """
    now = now or timezone.now()
    if data.client_id is not None:
        existing = ExecutionRecord.objects.filter(pk=data.client_id).first()
        if existing is not None:
            return existing, False, []
    measure = data.measure
    if not measure.active:
        raise ValidationError({"measure": ValidationError(_("This measure is no longer active."), code="inactive")})
    if data.occurred_at > now + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": ValidationError(_("The execution time is in the future."),
                                                              code="future")})
    assignment = check_may_record(data.entered_by, measure, data.occurred_at, now)
    values, warnings = clean_values(measure, data.values)
    warnings += sensor_checks(measure, data.occurred_at, values, data.compliant)
    if warnings and not data.confirmed:
        raise NeedsConfirmation(warnings)
    if measure.photo_required and not data.photos and data.corrects is None:
        raise ValidationError({"photos": ValidationError(_("This measure needs a photo."), code="photo_required")})
    late_minutes = lateness(measure, data.occurred_at, data.entered_at or now)
    is_late = late_minutes > 0
    if is_late and not data.late_reason.strip():
        raise ValidationError({"late_reason": ValidationError(
            _("Recorded %(minutes)d minutes after the grace window: give the reason for the late entry.")
            % {"minutes": late_minutes}, code="late_reason_required")})
    if data.corrects is not None:
        if data.corrects.measure_id != measure.pk:
            raise ValidationError({"corrects": ValidationError(_("A correction must be for the same measure."),
                                                               code="corrects_measure")})
        if not data.correction_reason.strip():
            raise ValidationError({"correction_reason": ValidationError(_("Give the reason for the correction."),
                                                                        code="required")})
    fields = {
        "occurred_at": data.occurred_at, "remarks": data.remarks, "batch_no": data.batch_no.strip(),
        "late_reason": data.late_reason, "executor_name": data.executor.name,
    }
    try:
        with transaction.atomic():
            record = ExecutionRecord(
                id=data.client_id or uuid.uuid4(), measure=measure, site_id=measure.site_id,
                stage_id=measure.stage_id, occurred_at=data.occurred_at, recorded_at=now,
                entered_at=data.entered_at, executor=data.executor, entered_by=data.entered_by,
                equipment=data.equipment or measure.equipment, tag_scanned=data.tag_scanned, values=values,
                compliant=derive_compliant(measure, values, data.compliant), checklist=data.checklist,
                remarks=data.remarks, batch_no=fields["batch_no"], outsourced=assignment is not None,
                source=data.source, is_late=is_late, late_reason=data.late_reason if is_late else "",
                confirmed_warnings=warnings, corrects=data.corrects, correction_reason=data.correction_reason,
                late_state=ApprovalState.PENDING if is_late else ApprovalState.NOT_NEEDED,
                confirmation_state=ApprovalState.PENDING if assignment else ApprovalState.NOT_NEEDED,
                search_text=search_text_for(measure, fields),
            )
            record.search_bigrams = bigrams(record.search_text)
            record.save(force_insert=True)
            for photo in data.photos:
                attach(record, photo, user=data.entered_by, occurred_at=data.occurred_at)
            if data.corrects is not None:
                ExecutionRecord.objects.filter(pk=data.corrects.pk).update(superseded=True)
            for warning in warnings:
                kind = ReviewFlag.Kind.SENSOR_CONTRADICTION if warning["rule"] == "sensor_contradiction" \
                    else ReviewFlag.Kind.OUT_OF_RANGE
                ReviewFlag.objects.create(measure=measure, record=record, kind=kind, message=warning["message"])
            mark_due_done(record)
    except IntegrityError:
        # the same client id arrived twice at once: the other request stored it
        if data.client_id is not None and ExecutionRecord.objects.filter(pk=data.client_id).exists():
            return ExecutionRecord.objects.get(pk=data.client_id), False, []
        raise
    after_record(record, assignment)
    return record, True, warnings


def after_record(record, assignment):
    """Notifications that follow a new record (outside the recording transaction)."""
    if record.is_late:
        leaders = shift_leaders(record.site)
        notify(leaders, _("Late entry waiting for approval"),
               _("%(measure)s executed %(time)s, entered late: %(reason)s") % {
                   "measure": record.measure.name, "time": timezone.localtime(record.occurred_at).strftime("%m-%d %H:%M"),
                   "reason": record.late_reason},
               link=f"/measures/records/{record.pk}/", channels=())
    if assignment is not None and assignment.company_contact.user_id:
        notify([assignment.company_contact.user], _("Contractor work to confirm"),
               _("%(measure)s recorded by a contractor; please confirm it online.") % {"measure": record.measure.name},
               link=f"/measures/records/{record.pk}/", channels=())


def shift_leaders(site):
    group = Group.objects.filter(name="shift_leader").first()
    if group is None:
        return []
    return list(group.user_set.filter(person__sites=site, is_active=True).distinct())


def mark_due_done(record):
    """Close the scheduled execution this record fulfils, if any."""
    due = DueExecution.objects.filter(
        measure=record.measure, state=DueExecution.State.PENDING,
        due_at__lte=record.occurred_at + datetime.timedelta(minutes=record.measure.grace_minutes),
        window_end__gte=record.occurred_at,
    ).order_by("due_at").first()
    if due is not None:
        due.state, due.record = DueExecution.State.DONE, record
        due.save(update_fields=["state", "record"])


def one_tap(measure, user, now=None, source=RecordSource.ONE_TAP, tag_scanned=""):
    """Complete a simple measure now, by the logged-in person (sensor values filled where bound)."""
    person = getattr(user, "person", None)
    if person is None:
        raise ValidationError(_("Your account is not linked to a person."), code="no_person")
    if not measure.is_simple:
        raise ValidationError(_("This measure needs parameters, a photo or a checklist: use the form."),
                              code="not_simple")
    now = now or timezone.now()
    return record_execution(RecordInput(measure=measure, occurred_at=now.replace(second=0, microsecond=0),
                                        executor=person, entered_by=user, source=source,
                                        tag_scanned=tag_scanned), now=now)


# Decisions on records -------------------------------------------------------------------------


@transaction.atomic
def decide_late_entry(record, approved, user, comment=""):
    if record.late_state != ApprovalState.PENDING:
        raise ValidationError(_("This record is not waiting for approval."), code="not_pending")
    LateEntryDecision(record=record, approved=approved, comment=comment, decided_by=user).save()
    record.late_state = ApprovalState.APPROVED if approved else ApprovalState.REJECTED
    record.save(update_fields=["late_state"])
    return record


@transaction.atomic
def confirm_contractor_record(record, confirmed, user, comment=""):
    """The company contact named on the contractor's assignment confirms (or rejects) the work."""
    if record.confirmation_state != ApprovalState.PENDING:
        raise ValidationError(_("This record is not waiting for confirmation."), code="not_pending")
    assignment = contractor_assignment(record.entered_by, record.measure, record.occurred_at) \
        if record.entered_by_id else None
    if assignment is not None and getattr(user, "person", None) != assignment.company_contact:
        raise PermissionDenied(_("Only the company contact %(name)s confirms this contractor's work.")
                               % {"name": assignment.company_contact.name})
    ContractorConfirmation(record=record, confirmed=confirmed, comment=comment, confirmed_by=user).save()
    record.confirmation_state = ApprovalState.APPROVED if confirmed else ApprovalState.REJECTED
    record.save(update_fields=["confirmation_state"])
    return record


# Hourly status of continuous measures ---------------------------------------------------------


def hour_start(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


@transaction.atomic
def record_hourly_status(measure, hour, status, user=None, note="", source="manual", client_id=None):
    """One hour's status; a later row for the same hour supersedes the earlier one."""
    if client_id is not None and HourlyStatus.objects.filter(pk=client_id).exists():
        return HourlyStatus.objects.get(pk=client_id), False
    hour = hour_start(hour)
    previous = HourlyStatus.objects.filter(measure=measure, hour=hour, superseded=False)
    row = HourlyStatus(
        id=client_id or uuid.uuid4(), measure=measure, hour=hour, status=status, source=source, note=note,
        recorded_by=user,
        approval_state=ApprovalState.PENDING if status == EquipmentStatus.MAINTENANCE else ApprovalState.NOT_NEEDED,
    )
    previous.update(superseded=True)
    row.save(force_insert=True)
    return row, True


@transaction.atomic
def decide_maintenance(hourly, approved, user, comment=""):
    if hourly.approval_state != ApprovalState.PENDING:
        raise ValidationError(_("This hour is not waiting for approval."), code="not_pending")
    LateEntryDecision(hourly=hourly, approved=approved, comment=comment, decided_by=user).save()
    hourly.approval_state = ApprovalState.APPROVED if approved else ApprovalState.REJECTED
    hourly.save(update_fields=["approval_state"])
    return hourly


# Anomalies --------------------------------------------------------------------------------------


def anomaly_search_text(anomaly):
    return " ".join(filter(None, [anomaly.measure.name, anomaly.measure.stage.name, anomaly.symptom,
                                  anomaly.immediate_handling, anomaly.safety_impact, anomaly.result,
                                  anomaly.corrective_action, anomaly.batch_no, "异常 anomaly"])).lower()


@transaction.atomic
def report_anomaly(*, measure, occurred_at, symptom, user=None, record=None, immediate_handling="",
                   safety_impact="", extra_quantity=None, extra_unit="", extra_activity="", extra_co2_kg=None,
                   extra_co2_basis="", owner=None, deadline=None, batch_no="", client_id=None):
    if client_id is not None and Anomaly.objects.filter(pk=client_id).exists():
        return Anomaly.objects.get(pk=client_id), False
    if not symptom.strip():
        raise ValidationError({"symptom": ValidationError(_("Describe what happened."), code="required")})
    from greenledger.carbon.services import anomaly_extra_fields

    # a figure the reporter typed is kept; otherwise the factor library computes it and names its version
    extra_co2_kg, extra_co2_basis = anomaly_extra_fields(
        site=measure.site, occurred_at=occurred_at, extra_quantity=extra_quantity, extra_unit=extra_unit,
        extra_activity=extra_activity, extra_co2_kg=extra_co2_kg, extra_co2_basis=extra_co2_basis)
    anomaly = Anomaly(
        id=client_id or uuid.uuid4(), measure=measure, site_id=measure.site_id, record=record,
        equipment=measure.equipment, batch_no=batch_no or (record.batch_no if record else ""),
        occurred_at=occurred_at, reported_by=user, symptom=symptom, immediate_handling=immediate_handling,
        safety_impact=safety_impact, extra_quantity=extra_quantity, extra_unit=extra_unit,
        extra_activity=extra_activity, extra_co2_kg=extra_co2_kg, extra_co2_basis=extra_co2_basis,
        deadline=deadline or occurred_at + datetime.timedelta(days=3), owner=owner or measure.responsible,
    )
    anomaly.search_text = anomaly_search_text(anomaly)
    anomaly.save(force_insert=True)
    if record is not None:
        text = record.search_text + " 异常 " + symptom.lower()
        ExecutionRecord.objects.filter(pk=record.pk).update(has_anomaly=True, search_text=text,
                                                            search_bigrams=bigrams(text))
    owner_user = anomaly.owner.user if anomaly.owner_id and anomaly.owner.user_id else None
    if owner_user is not None:
        transaction.on_commit(lambda: notify([owner_user], _("New anomaly: %(measure)s") % {"measure": measure.name},
                                             symptom, link=f"/measures/anomalies/{anomaly.pk}/",
                                             level=NotificationLevel.WARNING, channels=()))
    return anomaly, True


TRANSITIONS = {
    AnomalyEvent.Kind.HANDLING: ({AnomalyState.OPEN}, AnomalyState.HANDLING),
    AnomalyEvent.Kind.UPDATE: ({AnomalyState.OPEN, AnomalyState.HANDLING}, None),
    AnomalyEvent.Kind.RESOLVED: ({AnomalyState.OPEN, AnomalyState.HANDLING}, AnomalyState.HANDLING),
    AnomalyEvent.Kind.CLOSED: ({AnomalyState.OPEN, AnomalyState.HANDLING}, AnomalyState.CLOSED),
    AnomalyEvent.Kind.REOPENED: ({AnomalyState.CLOSED}, AnomalyState.HANDLING),
}


@transaction.atomic
def anomaly_event(anomaly, kind, user, *, text="", owner=None, corrective_action="", resolved_at=None, at=None):
    """Move an anomaly through open → handling → closed; each step is a sealed event."""
    allowed, new_state = TRANSITIONS[kind]
    anomaly = Anomaly.objects.select_for_update().get(pk=anomaly.pk)
    if anomaly.state not in allowed:
        raise ValidationError(_("Cannot do “%(kind)s” on an anomaly that is %(state)s.") % {
            "kind": AnomalyEvent.Kind(kind).label, "state": anomaly.get_state_display()}, code="transition")
    if kind == AnomalyEvent.Kind.CLOSED and not (corrective_action or anomaly.corrective_action):
        raise ValidationError({"corrective_action": ValidationError(
            _("Closing an anomaly needs its corrective action."), code="required")})
    at = at or timezone.now()
    AnomalyEvent(anomaly=anomaly, kind=kind, at=at, by=user, text=text, owner=owner,
                 corrective_action=corrective_action, resolved_at=resolved_at).save()
    changed = []
    if new_state is not None:
        anomaly.state = new_state
        changed.append("state")
    if owner is not None:
        anomaly.owner = owner
        changed.append("owner")
    if corrective_action:
        anomaly.corrective_action = corrective_action
        changed.append("corrective_action")
    if text and kind in (AnomalyEvent.Kind.RESOLVED, AnomalyEvent.Kind.CLOSED):
        anomaly.result = text
        changed.append("result")
    if kind == AnomalyEvent.Kind.RESOLVED or (kind == AnomalyEvent.Kind.CLOSED and anomaly.resolved_at is None):
        anomaly.resolved_at = resolved_at or at
        changed.append("resolved_at")
    if kind == AnomalyEvent.Kind.CLOSED:
        anomaly.closed_at = at
        changed.append("closed_at")
    if kind == AnomalyEvent.Kind.REOPENED:
        anomaly.closed_at = None
        changed.append("closed_at")
    anomaly.search_text = anomaly_search_text(anomaly)
    anomaly.save(update_fields=[*set(changed), "search_text"])
    return anomaly


# Photos sent by phones ------------------------------------------------------------------------


def decode_photo(item, index):
    """``{"name": "x.jpg", "content_base64": "..."}`` from an offline phone → a file."""
    try:
        content = base64.b64decode(item.get("content_base64", ""), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({f"photos.{index}": ValidationError(_("Photo is not valid base64."), code="base64")})
    return ContentFile(content, name=item.get("name") or f"photo-{index}.jpg")
