"""Measure ledger API (mounted at /api/measures/): catalogue, idempotent record intake, decisions,
anomalies, hourly status and batch trace.

``POST /records`` takes a client-generated UUID ``id`` and the original ``occurred_at``: phones
record offline and sync later, and the same id sent twice stores one record (201 the first time,
200 with the stored record after). Values outside their range are refused with 409 and rule
``confirm`` until the client resends with ``"confirm": true``.
"""

import datetime
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from greenledger.core import permissions
from greenledger.core.models import Equipment, Person

from . import services
from .access import anomalies_for, measures_for, records_for
from .filtersets import AnomalyFilterSet, RecordFilterSet
from .models import AnomalyEvent, EquipmentStatus, HourlyStatus, RecordSource
from .trace import batch_trace

router = Router(tags=["measures"])
TERMINAL = ("measures",)


class ParameterOut(Schema):
    code: str
    name: str
    unit: str
    value_type: str
    min_value: Decimal | None
    max_value: Decimal | None
    required: bool
    source: str
    telemetry_point: str


class MeasureOut(Schema):
    id: int
    site: str
    stage: str
    code: str
    name: str
    measure_type: str
    purpose: str
    reduction_target: str
    safety_target: str
    reduction_link: str
    safety_link: str
    schedule: str
    grace_minutes: int
    photo_required: bool
    tag: str
    equipment: str | None
    simple: bool
    parameters: list[ParameterOut]
    checklist: list[dict]


def measure_out(m):
    checklist = [{"id": item.pk, "kind": item.kind, "text": item.text} for item in m.checklist.items.all()] \
        if m.checklist_id else []
    return MeasureOut(
        id=m.pk, site=m.site.code, stage=m.stage.name, code=m.code, name=m.name, measure_type=m.measure_type,
        purpose=m.purpose, reduction_target=m.reduction_target, safety_target=m.safety_target,
        reduction_link=m.reduction_link, safety_link=m.safety_link, schedule=m.schedule,
        grace_minutes=m.grace_minutes, photo_required=m.photo_required, tag=m.effective_tag,
        equipment=m.equipment.code if m.equipment_id else None, simple=m.is_simple,
        parameters=[ParameterOut(**{f: getattr(p, f) for f in ParameterOut.model_fields}) for p in m.parameters.all()],
        checklist=checklist,
    )


class PhotoIn(Schema):
    name: str = "photo.jpg"
    content_base64: str


class RecordIn(Schema):
    id: uuid.UUID | None = None
    measure: int
    occurred_at: datetime.datetime
    executor: int | None = None
    values: dict = {}
    remarks: str = ""
    batch_no: str = ""
    equipment: int | None = None
    tag_scanned: str = ""
    compliant: bool | None = None
    checklist: dict = {}
    entered_at: datetime.datetime | None = None
    late_reason: str = ""
    confirm: bool = False
    photos: list[PhotoIn] = []
    corrects: uuid.UUID | None = None
    correction_reason: str = ""
    source: str | None = None


class RecordOut(Schema):
    id: uuid.UUID
    measure: int
    measure_name: str
    stage: str
    occurred_at: datetime.datetime
    recorded_at: datetime.datetime
    executor: str
    values: dict
    compliant: bool | None
    remarks: str
    batch_no: str
    outsourced: bool
    is_late: bool
    late_state: str
    confirmation_state: str
    superseded: bool
    has_anomaly: bool
    corrects: uuid.UUID | None
    source: str
    warnings: list[dict] = []


def record_out(r, warnings=()):
    return RecordOut(
        id=r.pk, measure=r.measure_id, measure_name=r.measure.name, stage=r.stage.name, occurred_at=r.occurred_at,
        recorded_at=r.recorded_at, executor=r.executor.name, values=r.values, compliant=r.compliant,
        remarks=r.remarks, batch_no=r.batch_no, outsourced=r.outsourced, is_late=r.is_late,
        late_state=r.late_state, confirmation_state=r.confirmation_state, superseded=r.superseded,
        has_anomaly=r.has_anomaly, corrects=r.corrects_id, source=r.source, warnings=list(warnings),
    )


def conflict(warnings):
    return {"errors": [{**w, "rule": "confirm"} for w in warnings]}


@router.get("/measures", response=list[MeasureOut])
def list_measures(request, stage: int | None = None, tag: str | None = None, q: str | None = None):
    """The catalogue in scope; ``tag`` finds the measures behind a scanned NFC/QR tag."""
    permissions.require(request, "measures.view_measure", purposes=TERMINAL)
    measures = measures_for(request).filter(active=True).prefetch_related("parameters", "checklist__items")
    if stage:
        measures = measures.filter(stage_id=stage)
    if q:
        measures = measures.filter(name__icontains=q)
    items = list(measures)
    if tag:
        items = [m for m in items if m.effective_tag == tag]
    return [measure_out(m) for m in items]


@router.get("/measures/{measure_id}", response=MeasureOut)
def get_measure(request, measure_id: int):
    permissions.require(request, "measures.view_measure", purposes=TERMINAL)
    return measure_out(get_object_or_404(measures_for(request), pk=measure_id))


@router.post("/records", response={200: RecordOut, 201: RecordOut, 409: dict})
def create_record(request, payload: RecordIn):
    """Store an execution record (idempotent on ``id``)."""
    permissions.require(request, "measures.record_measure", purposes=TERMINAL)
    if payload.id is not None:
        existing = records_for(request).filter(pk=payload.id).first()
        if existing is not None:
            return Status(200, record_out(existing))
    measure = get_object_or_404(measures_for(request), pk=payload.measure)
    token = permissions.token_of(request)
    user = None if token else request.user
    executor = resolve_executor(request, payload.executor, user)
    photos = [services.decode_photo(p.model_dump(), i) for i, p in enumerate(payload.photos)]
    corrects = get_object_or_404(records_for(request), pk=payload.corrects) if payload.corrects else None
    equipment = get_object_or_404(Equipment, pk=payload.equipment, workshop__site=measure.site) \
        if payload.equipment else None
    source = payload.source if payload.source in RecordSource.values else RecordSource.API
    data = services.RecordInput(
        measure=measure, occurred_at=payload.occurred_at, executor=executor, entered_by=user,
        values=payload.values, remarks=payload.remarks, batch_no=payload.batch_no, equipment=equipment,
        tag_scanned=payload.tag_scanned, compliant=payload.compliant, checklist=payload.checklist, source=source,
        client_id=payload.id, entered_at=payload.entered_at, late_reason=payload.late_reason,
        confirmed=payload.confirm, photos=photos, corrects=corrects, correction_reason=payload.correction_reason,
    )
    try:
        record, created, warnings = services.record_execution(data)
    except services.NeedsConfirmation as exc:
        return Status(409, conflict(exc.warnings))
    return Status(201 if created else 200, record_out(record, warnings))


def resolve_executor(request, executor_id, user):
    if executor_id is None:
        person = getattr(user, "person", None) if user is not None else None
        if person is None:
            raise ValidationError({"executor": ValidationError("executor is required for device tokens",
                                                               code="required")})
        return person
    person = get_object_or_404(Person.objects.filter(sites__in=permissions.scope_sites(request)).distinct(),
                               pk=executor_id)
    if user is not None and services.is_contractor(user) and person.user_id != user.pk:
        raise HttpError(403, "contractors record their own work only")
    return person


@router.get("/records", response=list[RecordOut])
def list_records(request, limit: int = 100, offset: int = 0):
    """Records matching the same filters as the record list page (``q``, ``start``, ``end``, ``stage``…)."""
    permissions.require(request, "measures.view_executionrecord", purposes=TERMINAL)
    filterset = RecordFilterSet(request.GET, queryset=records_for(request))
    if not filterset.is_valid():
        raise ValidationError({name: errors[0] for name, errors in filterset.errors.items()})
    limit = max(1, min(limit, 1000))
    return [record_out(r) for r in filterset.qs.order_by("-occurred_at")[offset:offset + limit]]


@router.get("/records/{record_id}", response=RecordOut)
def get_record(request, record_id: uuid.UUID):
    permissions.require(request, "measures.view_executionrecord", purposes=TERMINAL)
    return record_out(get_object_or_404(records_for(request), pk=record_id))


@router.post("/measures/{measure_id}/complete", response={200: RecordOut, 201: RecordOut})
def complete(request, measure_id: int, tag: str = ""):
    """One-tap completion of a simple measure by the logged-in person, now."""
    permissions.require(request, "measures.record_measure")
    measure = get_object_or_404(measures_for(request), pk=measure_id)
    record, created, _warnings = services.one_tap(measure, request.user, tag_scanned=tag)
    return Status(201 if created else 200, record_out(record))


class DecisionIn(Schema):
    approved: bool
    comment: str = ""


@router.post("/records/{record_id}/late-decision", response=RecordOut)
def late_decision(request, record_id: uuid.UUID, payload: DecisionIn):
    permissions.require(request, "measures.approve_late_entry")
    record = get_object_or_404(records_for(request), pk=record_id)
    return record_out(services.decide_late_entry(record, payload.approved, request.user, payload.comment))


@router.post("/records/{record_id}/contractor-confirmation", response=RecordOut)
def contractor_confirmation(request, record_id: uuid.UUID, payload: DecisionIn):
    permissions.require(request, "measures.confirm_contractor_work")
    record = get_object_or_404(records_for(request), pk=record_id)
    return record_out(services.confirm_contractor_record(record, payload.approved, request.user, payload.comment))


class AnomalyIn(Schema):
    id: uuid.UUID | None = None
    measure: int
    record: uuid.UUID | None = None
    occurred_at: datetime.datetime
    symptom: str
    immediate_handling: str = ""
    safety_impact: str = ""
    extra_quantity: Decimal | None = None
    extra_unit: str = ""
    extra_activity: str = ""
    extra_co2_kg: Decimal | None = None
    extra_co2_basis: str = ""
    batch_no: str = ""
    deadline: datetime.datetime | None = None


class AnomalyOut(Schema):
    id: uuid.UUID
    measure: int
    measure_name: str
    record: uuid.UUID | None
    occurred_at: datetime.datetime
    symptom: str
    immediate_handling: str
    result: str
    state: str
    resolved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    deadline: datetime.datetime | None
    extra_quantity: Decimal | None
    extra_unit: str
    extra_co2_kg: Decimal | None
    corrective_action: str
    owner: str | None


def anomaly_out(a):
    return AnomalyOut(
        id=a.pk, measure=a.measure_id, measure_name=a.measure.name, record=a.record_id, occurred_at=a.occurred_at,
        symptom=a.symptom, immediate_handling=a.immediate_handling, result=a.result, state=a.state,
        resolved_at=a.resolved_at, closed_at=a.closed_at, deadline=a.deadline, extra_quantity=a.extra_quantity,
        extra_unit=a.extra_unit, extra_co2_kg=a.extra_co2_kg, corrective_action=a.corrective_action,
        owner=a.owner.name if a.owner_id else None,
    )


@router.post("/anomalies", response={200: AnomalyOut, 201: AnomalyOut})
def create_anomaly(request, payload: AnomalyIn):
    permissions.require(request, "measures.add_anomaly", purposes=TERMINAL)
    measure = get_object_or_404(measures_for(request), pk=payload.measure)
    record = get_object_or_404(records_for(request), pk=payload.record) if payload.record else None
    data = payload.model_dump(exclude={"id", "measure", "record"})
    anomaly, created = services.report_anomaly(
        measure=measure, record=record, user=None if permissions.token_of(request) else request.user,
        client_id=payload.id, **data)
    return Status(201 if created else 200, anomaly_out(anomaly))


@router.get("/anomalies", response=list[AnomalyOut])
def list_anomalies(request, limit: int = 100, offset: int = 0):
    permissions.require(request, "measures.view_anomaly", purposes=TERMINAL)
    filterset = AnomalyFilterSet(request.GET, queryset=anomalies_for(request))
    if not filterset.is_valid():
        raise ValidationError({name: errors[0] for name, errors in filterset.errors.items()})
    limit = max(1, min(limit, 1000))
    return [anomaly_out(a) for a in filterset.qs[offset:offset + limit]]


class AnomalyEventIn(Schema):
    kind: AnomalyEvent.Kind
    text: str = ""
    owner: int | None = None
    corrective_action: str = ""
    resolved_at: datetime.datetime | None = None


@router.post("/anomalies/{anomaly_id}/events", response=AnomalyOut)
def add_anomaly_event(request, anomaly_id: uuid.UUID, payload: AnomalyEventIn):
    permissions.require(request, "measures.handle_anomaly")
    anomaly = get_object_or_404(anomalies_for(request), pk=anomaly_id)
    owner = get_object_or_404(Person, pk=payload.owner) if payload.owner else None
    return anomaly_out(services.anomaly_event(anomaly, payload.kind, request.user, text=payload.text, owner=owner,
                                              corrective_action=payload.corrective_action,
                                              resolved_at=payload.resolved_at))


class HourlyIn(Schema):
    id: uuid.UUID | None = None
    measure: int
    hour: datetime.datetime
    status: EquipmentStatus
    note: str = ""


class HourlyOut(Schema):
    id: uuid.UUID
    measure: int
    hour: datetime.datetime
    status: str
    approval_state: str
    superseded: bool


@router.post("/hourly", response={200: HourlyOut, 201: HourlyOut})
def create_hourly(request, payload: HourlyIn):
    permissions.require(request, "measures.add_hourlystatus", purposes=TERMINAL)
    measure = get_object_or_404(measures_for(request), pk=payload.measure)
    row, created = services.record_hourly_status(
        measure, payload.hour, payload.status, user=None if permissions.token_of(request) else request.user,
        note=payload.note, client_id=payload.id)
    return Status(201 if created else 200, HourlyOut(id=row.pk, measure=row.measure_id, hour=row.hour,
                                                     status=row.status, approval_state=row.approval_state,
                                                     superseded=row.superseded))


@router.post("/hourly/{hourly_id}/decision", response=HourlyOut)
def hourly_decision(request, hourly_id: uuid.UUID, payload: DecisionIn):
    permissions.require(request, "measures.approve_late_entry")
    row = get_object_or_404(HourlyStatus.objects.filter(measure__in=measures_for(request)), pk=hourly_id)
    row = services.decide_maintenance(row, payload.approved, request.user, payload.comment)
    return HourlyOut(id=row.pk, measure=row.measure_id, hour=row.hour, status=row.status,
                     approval_state=row.approval_state, superseded=row.superseded)


@router.get("/trace/{batch_no}")
def trace(request, batch_no: str):
    """Every record, anomaly and equipment status that touched a batch, stage by stage."""
    permissions.require(request, "measures.view_executionrecord", purposes=TERMINAL)
    return batch_trace(batch_no, sites=permissions.scope_sites(request)).as_dict()
