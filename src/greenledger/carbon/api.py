"""Carbon accounting API (mounted at /api/carbon/): factor library, activity data, production
output and green certificates (idempotent on a client ``id``), the monthly report and measure effects.

ERP/MES integrations post production output and activity data with a site-scoped token of purpose
``integration``; people use their session. Every call checks the permission and the site scope.
"""

import datetime
import uuid
from decimal import Decimal

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from greenledger.core import permissions
from greenledger.core.models import Equipment, Site, Workshop

from . import effects, engine, reports, services
from .models import ActivityRecord, EmissionFactor, Origin, ProductionOutput

router = Router(tags=["carbon"])
INTEGRATION = ("integration",)


class FactorOut(Schema):
    id: int
    code: str
    version: int
    name: str
    category: str
    kind: str
    activity: str
    region: str
    gas: str
    value: Decimal
    unit: str
    activity_unit: str
    kg_per_unit: Decimal
    data_year: int | None
    source: str
    confidence: str
    current: bool


def factor_out(f):
    return FactorOut(current=f.superseded_at is None, **{k: getattr(f, k) for k in FactorOut.model_fields
                                                        if k != "current"})


@router.get("/factors", response=list[FactorOut])
def list_factors(request, activity: str | None = None, category: str | None = None, current: bool = True):
    permissions.require(request, "carbon.view_emissionfactor", purposes=INTEGRATION)
    queryset = EmissionFactor.objects.all()
    if activity:
        queryset = queryset.filter(activity=activity)
    if category:
        queryset = queryset.filter(category=category)
    if current:
        queryset = queryset.filter(superseded_at__isnull=True)
    return [factor_out(f) for f in queryset]


@router.get("/factors/{factor_id}", response=FactorOut)
def get_factor(request, factor_id: int):
    permissions.require(request, "carbon.view_emissionfactor", purposes=INTEGRATION)
    return factor_out(get_object_or_404(EmissionFactor, pk=factor_id))


def site_for(request, code):
    site = get_object_or_404(Site, code=code)
    permissions.require_site(request, site)
    return site


def workshop_for(site, code):
    return get_object_or_404(Workshop, site=site, code=code) if code else None


class ActivityIn(Schema):
    id: uuid.UUID | None = None
    site: str
    workshop: str = ""
    equipment: str = ""
    activity: str
    quantity: Decimal
    unit: str
    period_start: datetime.date
    period_end: datetime.date
    note: str = ""


class ActivityOut(Schema):
    id: uuid.UUID
    site: str
    workshop: str | None
    equipment: str | None
    activity: str
    quantity: Decimal
    unit: str
    period_start: datetime.date
    period_end: datetime.date
    origin: str
    superseded: bool


def activity_out(r):
    return ActivityOut(id=r.pk, site=r.site.code, workshop=r.workshop.code if r.workshop_id else None,
                       equipment=r.equipment.code if r.equipment_id else None, activity=r.activity,
                       quantity=r.quantity, unit=r.unit, period_start=r.period_start, period_end=r.period_end,
                       origin=r.origin, superseded=r.superseded)


@router.post("/activity", response={200: ActivityOut, 201: ActivityOut})
def create_activity(request, payload: ActivityIn):
    permissions.require(request, "carbon.add_activityrecord", purposes=INTEGRATION)
    site = site_for(request, payload.site)
    equipment = get_object_or_404(Equipment, workshop__site=site, code=payload.equipment) if payload.equipment else None
    record, created = services.record_activity(
        site=site, activity=payload.activity, quantity=payload.quantity, unit=payload.unit,
        period_start=payload.period_start, period_end=payload.period_end, workshop=workshop_for(site, payload.workshop),
        equipment=equipment, note=payload.note, origin=Origin.API,
        user=request.user if request.user.is_authenticated else None, client_id=payload.id)
    return Status(201 if created else 200, activity_out(record))


@router.get("/activity", response=list[ActivityOut])
def list_activity(request, site: str, start: datetime.date, end: datetime.date):
    permissions.require(request, "carbon.view_activityrecord", purposes=INTEGRATION)
    found = site_for(request, site)
    rows = ActivityRecord.objects.filter(site=found, period_start__lte=end, period_end__gte=start)
    return [activity_out(r) for r in rows.select_related("site", "workshop", "equipment")[:5000]]


class OutputIn(Schema):
    id: uuid.UUID | None = None
    site: str
    workshop: str = ""
    product: str
    quantity: Decimal
    unit: str
    period_start: datetime.date
    period_end: datetime.date
    batch_no: str = ""
    defect_rate: Decimal | None = None
    final: bool = True


class OutputOut(Schema):
    id: uuid.UUID
    site: str
    workshop: str | None
    product: str
    quantity: Decimal
    unit: str
    period_start: datetime.date
    period_end: datetime.date
    batch_no: str
    defect_rate: Decimal | None
    final: bool
    superseded: bool


def output_out(o):
    return OutputOut(id=o.pk, site=o.site.code, workshop=o.workshop.code if o.workshop_id else None,
                     product=o.product, quantity=o.quantity, unit=o.unit, period_start=o.period_start,
                     period_end=o.period_end, batch_no=o.batch_no, defect_rate=o.defect_rate, final=o.final,
                     superseded=o.superseded)


@router.post("/output", response={200: OutputOut, 201: OutputOut})
def create_output(request, payload: OutputIn):
    permissions.require(request, "carbon.add_productionoutput", purposes=INTEGRATION)
    site = site_for(request, payload.site)
    output, created = services.record_output(
        site=site, product=payload.product, quantity=payload.quantity, unit=payload.unit,
        period_start=payload.period_start, period_end=payload.period_end,
        workshop=workshop_for(site, payload.workshop), batch_no=payload.batch_no, defect_rate=payload.defect_rate,
        final=payload.final, origin=Origin.API, user=request.user if request.user.is_authenticated else None,
        client_id=payload.id)
    return Status(201 if created else 200, output_out(output))


@router.get("/output", response=list[OutputOut])
def list_output(request, site: str, start: datetime.date, end: datetime.date, batch: str | None = None):
    permissions.require(request, "carbon.view_productionoutput", purposes=INTEGRATION)
    found = site_for(request, site)
    rows = ProductionOutput.objects.filter(site=found, period_start__lte=end, period_end__gte=start)
    if batch:
        rows = rows.filter(batch_no=batch)
    return [output_out(o) for o in rows.select_related("site", "workshop")[:5000]]


class CertificateIn(Schema):
    id: uuid.UUID | None = None
    site: str
    kind: str = "gec"
    mwh: Decimal
    period_start: datetime.date
    period_end: datetime.date
    reference: str = ""
    source: str = ""


@router.post("/certificates", response={200: dict, 201: dict})
def create_certificate(request, payload: CertificateIn):
    permissions.require(request, "carbon.add_greencertificate")
    site = site_for(request, payload.site)
    certificate, created = services.record_certificate(
        site=site, kind=payload.kind, mwh=payload.mwh, period_start=payload.period_start,
        period_end=payload.period_end, reference=payload.reference, source=payload.source, user=request.user,
        client_id=payload.id)
    return Status(201 if created else 200, {"id": str(certificate.pk), "mwh": str(certificate.mwh)})


@router.get("/report", response=dict)
def monthly_report(request, site: str, month: str):
    """The figures of the monthly report (as the page shows them), with factor versions and checkpoint."""
    permissions.require(request, "carbon.view_emissions")
    found = site_for(request, site)
    year, number = (int(part) for part in month.split("-")[:2])
    start, end = engine.month_bounds(year, number)
    return reports.report_content(found, start, end)


@router.get("/effects", response=list[dict])
def measure_effects(request, site: str, month: str):
    permissions.require(request, "carbon.view_emissions")
    found = site_for(request, site)
    year, number = (int(part) for part in month.split("-")[:2])
    start, end = engine.month_bounds(year, number)
    return [{"measure": r.measure.code, "method": r.method, "expected_kg": str(round(r.expected_kg, 3)),
             "achieved_kg": str(round(r.achieved_kg, 3)), "lapse_kg": str(round(r.lapse_kg, 3)), "basis": r.basis,
             "factors": r.factors,
             "lapses": [{"start": l.start.isoformat(), "end": l.end.isoformat(), "kg": str(round(l.kg, 3)),
                         "reason": l.reason, "hourly": [str(x) for x in l.hourly],
                         "records": [str(x) for x in l.records], "anomalies": [str(x) for x in l.anomalies]}
                        for l in r.lapses]}
            for r in effects.effects_for(found, start, end)]
