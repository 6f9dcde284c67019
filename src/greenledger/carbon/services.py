"""Carbon intake services: activity data, production output and green certificates, one way for the
form, the Excel import, the API and telemetry; and the extra emissions of measure-ledger anomalies.

Every intake validates the unit against the activity, writes a sealed row (idempotent on a
client id) and, for a correction, marks the corrected row superseded in the same transaction.
"""

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .activities import ACTIVITIES, UnitError, activity_of, convert, normalise_unit
from .factors import FactorNotFound, select_factor
from .models import ActivityRecord, AnomalyEmission, GreenCertificate, Origin, ProductionOutput, SiteCarbonProfile


def profile_of(site) -> SiteCarbonProfile:
    profile = SiteCarbonProfile.objects.filter(site=site).first()
    return profile or SiteCarbonProfile(site=site)


def check_period(start, end):
    if start is None or end is None:
        raise ValidationError({"period_start": ValidationError(_("Give the period."), code="required")})
    if end < start:
        raise ValidationError({"period_end": ValidationError(_("The period ends before it starts."), code="order")})


def check_place(site, workshop, equipment):
    if workshop is not None and workshop.site_id != site.pk:
        raise ValidationError({"workshop": ValidationError(_("The workshop is not at this site."), code="scope")})
    if equipment is not None:
        if equipment.workshop.site_id != site.pk:
            raise ValidationError({"equipment": ValidationError(_("The equipment is not at this site."),
                                                                code="scope")})
        if workshop is not None and equipment.workshop_id != workshop.pk:
            raise ValidationError({"equipment": ValidationError(_("The equipment is not in this workshop."),
                                                                code="scope")})


def _supersede(model, corrects):
    if corrects is not None:
        if corrects.superseded:
            raise ValidationError({"corrects": ValidationError(_("That row was already corrected."), code="superseded")})
        model.objects.filter(pk=corrects.pk).update(superseded=True)


@transaction.atomic
def record_activity(*, site, activity, quantity, unit, period_start, period_end, workshop=None, equipment=None,
                    origin=Origin.MANUAL, point_code="", note="", user=None, client_id=None, corrects=None,
                    correction_reason="", now=None):
    """Store one activity quantity; returns (record, created)."""
    if client_id is not None and ActivityRecord.objects.filter(pk=client_id).exists():
        return ActivityRecord.objects.get(pk=client_id), False
    spec = activity_of(activity, unit)
    if spec is None:
        raise ValidationError({"activity": ValidationError(_("Unknown activity %(a)s") % {"a": activity},
                                                           code="choice")})
    try:
        unit = normalise_unit(unit)
        convert(1, unit, spec.unit)
    except UnitError as exc:
        raise ValidationError({"unit": ValidationError(str(exc), code="unit")})
    quantity = Decimal(str(quantity))
    if quantity < 0:
        raise ValidationError({"quantity": ValidationError(_("The quantity cannot be negative."), code="min")})
    check_period(period_start, period_end)
    check_place(site, workshop, equipment)
    if equipment is not None and workshop is None:
        workshop = equipment.workshop
    if corrects is not None and not correction_reason.strip():
        raise ValidationError({"correction_reason": ValidationError(_("Say why the row is corrected."),
                                                                    code="required")})
    record = ActivityRecord(
        id=client_id or uuid.uuid4(), site=site, workshop=workshop, equipment=equipment, period_start=period_start,
        period_end=period_end, activity=spec.code, quantity=quantity, unit=unit, origin=origin,
        point_code=point_code, note=note, recorded_at=now or timezone.now(), recorded_by=user, corrects=corrects,
        correction_reason=correction_reason,
    )
    record.save(force_insert=True)
    _supersede(ActivityRecord, corrects)
    return record, True


@transaction.atomic
def record_output(*, site, product, quantity, unit, period_start, period_end, workshop=None, batch_no="",
                  defect_rate=None, final=True, origin=Origin.MANUAL, user=None, client_id=None, corrects=None,
                  now=None):
    if client_id is not None and ProductionOutput.objects.filter(pk=client_id).exists():
        return ProductionOutput.objects.get(pk=client_id), False
    if not str(product).strip():
        raise ValidationError({"product": ValidationError(_("Name the product."), code="required")})
    quantity = Decimal(str(quantity))
    if quantity < 0:
        raise ValidationError({"quantity": ValidationError(_("The quantity cannot be negative."), code="min")})
    if defect_rate not in (None, ""):
        defect_rate = Decimal(str(defect_rate))
        if not Decimal(0) <= defect_rate <= Decimal(100):
            raise ValidationError({"defect_rate": ValidationError(_("A defect rate is between 0 and 100 %."),
                                                                  code="range")})
    else:
        defect_rate = None
    check_period(period_start, period_end)
    check_place(site, workshop, None)
    output = ProductionOutput(
        id=client_id or uuid.uuid4(), site=site, workshop=workshop, period_start=period_start, period_end=period_end,
        product=str(product).strip(), quantity=quantity, unit=str(unit).strip() or "unit", batch_no=batch_no,
        defect_rate=defect_rate, final=final, origin=origin, recorded_at=now or timezone.now(), recorded_by=user,
        corrects=corrects,
    )
    output.save(force_insert=True)
    _supersede(ProductionOutput, corrects)
    return output, True


@transaction.atomic
def record_certificate(*, site, mwh, period_start, period_end, kind="gec", reference="", source="", user=None,
                       client_id=None, corrects=None, now=None):
    if client_id is not None and GreenCertificate.objects.filter(pk=client_id).exists():
        return GreenCertificate.objects.get(pk=client_id), False
    mwh = Decimal(str(mwh))
    if mwh <= 0:
        raise ValidationError({"mwh": ValidationError(_("Give the MWh covered."), code="min")})
    check_period(period_start, period_end)
    certificate = GreenCertificate(
        id=client_id or uuid.uuid4(), site=site, kind=kind, period_start=period_start, period_end=period_end, mwh=mwh,
        reference=reference, source=source, recorded_at=now or timezone.now(), recorded_by=user, corrects=corrects)
    certificate.save(force_insert=True)
    _supersede(GreenCertificate, corrects)
    return certificate, True


# Anomaly extra emissions --------------------------------------------------------------------------


def extra_emissions(site, quantity, unit, activity, at=None, as_of=None):
    """kg CO2 of an extra consumption (e.g. 50 m³ of natural gas) and the basis naming the factor version.

    Returns (kg as Decimal to 3 places, basis text, factor) or None when the activity, unit or factor
    is unknown (the anomaly then keeps what the reporter typed).
    """
    spec = activity_of(activity, unit)
    if spec is None or quantity in (None, ""):
        return None
    try:
        amount = convert(Decimal(str(quantity)), unit or spec.unit, spec.unit)
    except UnitError:
        return None
    profile = profile_of(site)
    year = (at or timezone.now()).year
    try:
        factor = select_factor(spec.code, year=year, region=profile.grid_region, gwp_set=profile.gwp_set,
                               as_of=as_of)
    except FactorNotFound:
        return None
    kg = (amount * factor.kg_per_unit).quantize(Decimal("0.001"))
    basis = (f"{Decimal(str(quantity)).normalize():f} {unit or spec.unit} × {factor.kg_per_unit.normalize():f} "
             f"kgCO2/{spec.unit}（{factor.code} v{factor.version}）")[:200]
    return kg, basis, factor


def anomaly_extra_fields(*, site, occurred_at, extra_quantity, extra_unit, extra_activity, extra_co2_kg=None,
                         extra_co2_basis=""):
    """What ``measures.services.report_anomaly`` should store in extra_co2_kg / extra_co2_basis.

    A figure the reporter typed is kept; otherwise it is computed from the factor library.
    """
    if extra_co2_kg is not None or extra_quantity in (None, ""):
        return extra_co2_kg, extra_co2_basis
    computed = extra_emissions(site, extra_quantity, extra_unit, extra_activity, at=occurred_at)
    if computed is None:
        return extra_co2_kg, extra_co2_basis
    return computed[0], computed[1]


def fill_anomaly_emissions(anomalies=None):
    """For sealed anomalies that carry an extra quantity but no computed figure, write an
    AnomalyEmission row (the anomaly itself is append-only). Returns how many were written."""
    from greenledger.measures.models import Anomaly

    queryset = anomalies if anomalies is not None else Anomaly.objects.all()
    queryset = queryset.filter(extra_quantity__isnull=False, carbon_emission__isnull=True).select_related("site")
    written = 0
    for anomaly in queryset.iterator():
        computed = extra_emissions(anomaly.site, anomaly.extra_quantity, anomaly.extra_unit, anomaly.extra_activity,
                                   at=anomaly.occurred_at)
        if computed is None:
            continue
        kg, basis, factor = computed
        with transaction.atomic():
            AnomalyEmission(anomaly=anomaly, kg_co2=kg, basis=basis, factor=factor).save(force_insert=True)
        written += 1
    return written
