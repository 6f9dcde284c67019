"""Measure effects (措施减排量): how much a measure reduced emissions in a period, and where it lapsed.

Each method computes, hour by hour or record by record, the *expected* reduction (the measure
working as designed) and the *achieved* reduction. Where achieved falls short, the shortfall is
an emission increase, reported as a lapse linked to the hourly status rows, execution records and
anomalies that explain it (e.g. "recovery stopped 10:00–12:00: +40 kg CO2").

Methods and their parameters (``MeasureEffect.parameters``):

- ``frequency_baseline``: fan/pump on a VFD. Power ∝ (f/f0)³, so each running hour at frequency f
  saves rated_kw × (1 − (f/f0)³) kWh against the baseline f0, × the grid factor. Parameters:
  ``rated_kw`` (default: the equipment's), ``baseline_hz`` (50), ``design_hz`` (30), ``param``
  (the record parameter holding the frequency, default "frequency"). Frequency comes from the
  telemetry point in ``points`` (hourly mean), else the latest record value, else ``design_hz``.
  Running hours are the measure's hourly status rows; without any, ``hours_per_day``.
- ``recovery_output``: waste-heat recovery. Each running hour recovers ``recovered_gj_per_hour``
  (or the telemetry point's hourly GJ), which avoids recovered / (NCV × ``boiler_efficiency``) of
  ``fuel`` (default natural gas) × its factor. Stopped or maintenance hours are lapses.
- ``material_substitution``: each record's ``quantity_param`` × (``baseline_content`` − content)
  × ``scale`` × ``kg_co2_per_substance``; content from ``content_param`` or ``design_content``.
- ``fixed_per_execution``: ``kg_per_execution`` per counting record (or ``baseline_kg_per_unit``
  − ``actual_kg_per_unit`` × ``units_per_execution``); a record marked not compliant is a lapse.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from .factors import factor_ref, select_factor
from .models import EffectMethod, MeasureEffect
from .services import profile_of
from .telemetry_bridge import available as telemetry_available, day_bounds, hourly_series

ZERO = Decimal(0)
HOUR = datetime.timedelta(hours=1)
TOLERANCE = Decimal("0.05")  # an hour achieving less than 95 % of its expected reduction is a lapse


def D(value, default=None):
    if value in (None, ""):
        return default
    return Decimal(str(value))


@dataclass
class Lapse:
    start: datetime.datetime
    end: datetime.datetime
    kg: Decimal
    reason: str
    hourly: list = field(default_factory=list)
    records: list = field(default_factory=list)
    anomalies: list = field(default_factory=list)


@dataclass
class EffectResult:
    measure: object
    method: str
    start: datetime.date
    end: datetime.date
    expected_kg: Decimal = ZERO
    achieved_kg: Decimal = ZERO
    lapses: list = field(default_factory=list)
    factors: list = field(default_factory=list)
    basis: str = ""
    unknown_hours: int = 0

    @property
    def lapse_kg(self):
        return sum((lapse.kg for lapse in self.lapses), ZERO)


def counting_records(measure, first, last):
    return (measure.records.filter(occurred_at__gte=first, occurred_at__lt=last, superseded=False)
            .filter(late_state__in=["none", "approved"]).exclude(confirmation_state="rejected").order_by("occurred_at"))


def hourly_rows(measure, first, last):
    return {row.hour: row for row in measure.hourly.filter(hour__gte=first, hour__lt=last, superseded=False)}


def anomalies_between(measure, start, end):
    return list(measure.anomalies.filter(occurred_at__gte=start - HOUR, occurred_at__lt=end).values_list("pk",
                                                                                                      flat=True))


def merge(lapses):
    """Join lapses of consecutive hours with the same reason into one window."""
    merged = []
    for lapse in sorted(lapses, key=lambda l: l.start):
        last = merged[-1] if merged else None
        if last is not None and last.end == lapse.start and last.reason == lapse.reason:
            last.end, last.kg = lapse.end, last.kg + lapse.kg
            last.hourly += lapse.hourly
            last.records += [r for r in lapse.records if r not in last.records]
        else:
            merged.append(lapse)
    return merged


def hours(first, last):
    moment = first
    while moment < last:
        yield moment
        moment += HOUR


def compute_effect(effect: MeasureEffect, start: datetime.date, end: datetime.date, as_of=None) -> EffectResult:
    measure = effect.measure
    first, last = day_bounds(measure.site, start, end)
    result = EffectResult(measure, effect.method, start, end)
    method = {EffectMethod.FREQUENCY_BASELINE: frequency_baseline, EffectMethod.RECOVERY_OUTPUT: recovery_output,
              EffectMethod.MATERIAL_SUBSTITUTION: material_substitution,
              EffectMethod.FIXED_PER_EXECUTION: fixed_per_execution}[effect.method]
    method(effect, result, first, last, as_of)
    result.lapses = merge(result.lapses)
    for lapse in result.lapses:
        lapse.anomalies = anomalies_between(measure, lapse.start, lapse.end)
    return result


def grid_factor(measure, year, as_of):
    profile = profile_of(measure.site)
    return select_factor("electricity", year=year, region=profile.grid_region, as_of=as_of)


def frequency_baseline(effect, result, first, last, as_of):
    p, measure = effect.parameters, effect.measure
    rated = D(p.get("rated_kw"), D(getattr(measure.equipment, "rated_power_kw", None), ZERO))
    f0, design = D(p.get("baseline_hz"), Decimal(50)), D(p.get("design_hz"), Decimal(30))
    param = p.get("param", "frequency")
    factor = grid_factor(measure, first.year, as_of)
    result.factors.append(factor_ref(factor))
    per_hour_expected = rated * (1 - (design / f0) ** 3)
    telemetry = {}
    if effect.points and telemetry_available():
        telemetry = hourly_series(measure.site, effect.points[0], first, last)
    records = [(r.occurred_at, r) for r in counting_records(measure, first - datetime.timedelta(days=1), last)
               if isinstance(r.values.get(param), (int, float))]
    status = hourly_rows(measure, first, last)
    result.basis = (f"{rated} kW × (1 − (f/{f0})³) kWh per running hour × {factor.kg_per_unit.normalize()} kg/kWh "
                    f"({factor.code} v{factor.version}); design {design} Hz")
    for hour in hours(first, last):
        row = status.get(hour)
        if status and (row is None or row.status != "running"):
            if row is None:
                result.unknown_hours += 1
            continue
        if not status and not p.get("hours_per_day"):
            continue
        if not status and hour.astimezone(first.tzinfo).hour >= int(p["hours_per_day"]):
            continue
        source_record = None
        if hour in telemetry:
            f = D(telemetry[hour])
        else:
            earlier = [r for at, r in records if at < hour + HOUR]
            source_record = earlier[-1] if earlier else None
            f = D(source_record.values[param]) if source_record else design
        achieved = rated * (1 - (min(f, f0) / f0) ** 3)
        result.expected_kg += per_hour_expected * factor.kg_per_unit
        result.achieved_kg += achieved * factor.kg_per_unit
        if achieved < per_hour_expected * (1 - TOLERANCE):
            reason = (f"{f.normalize():f} Hz (baseline {f0.normalize():f} Hz)" if f >= f0
                      else f"{f.normalize():f} Hz > design {design.normalize():f} Hz")
            result.lapses.append(Lapse(hour, hour + HOUR, (per_hour_expected - achieved) * factor.kg_per_unit,
                                       reason, hourly=[row.pk] if row else [],
                                       records=[source_record.pk] if source_record else []))


def recovery_output(effect, result, first, last, as_of):
    p, measure = effect.parameters, effect.measure
    fuel = p.get("fuel", "natural_gas")
    factor = select_factor(fuel, year=first.year, as_of=as_of)
    result.factors.append(factor_ref(factor))
    efficiency = D(p.get("boiler_efficiency"), Decimal("0.9"))
    ncv = factor.ncv or D(p.get("ncv_gj_per_unit"))
    per_hour_gj = D(p.get("recovered_gj_per_hour"), ZERO)
    telemetry = {}
    if effect.points and telemetry_available():
        telemetry = hourly_series(measure.site, effect.points[0], first, last)
    kg_per_gj = factor.kg_per_unit / (ncv * efficiency)
    result.basis = (f"recovered GJ / ({ncv.normalize():f} GJ/{factor.activity_unit} × {efficiency}) × "
                    f"{factor.kg_per_unit.normalize():f} kg/{factor.activity_unit} ({factor.code} v{factor.version})")
    status = hourly_rows(measure, first, last)
    for hour in hours(first, last):
        row = status.get(hour)
        expected = per_hour_gj * kg_per_gj
        if row is None:
            if status or not p.get("assume_running"):
                result.unknown_hours += 1
                continue
        result.expected_kg += expected
        if row is not None and row.status != "running":
            result.lapses.append(Lapse(hour, hour + HOUR, expected, f"{row.get_status_display()}", hourly=[row.pk]))
            continue
        achieved = D(telemetry[hour]) * kg_per_gj if hour in telemetry else expected
        result.achieved_kg += achieved
        if achieved < expected * (1 - TOLERANCE):
            result.lapses.append(Lapse(hour, hour + HOUR, expected - achieved, "low recovery output",
                                       hourly=[row.pk] if row else []))


def material_substitution(effect, result, first, last, as_of):
    p, measure = effect.parameters, effect.measure
    quantity_param, content_param = p.get("quantity_param", "dosage"), p.get("content_param")
    baseline, design = D(p.get("baseline_content"), ZERO), D(p.get("design_content"), ZERO)
    scale, kg_per = D(p.get("scale"), Decimal(1)), D(p.get("kg_co2_per_substance"), ZERO)
    result.basis = (f"Σ {quantity_param} × ({baseline} − content) × {scale} × {kg_per} kg CO2e "
                    f"({p.get('source', 'parameters of the measure effect')})")
    for record in counting_records(measure, first, last):
        quantity = D(record.values.get(quantity_param))
        if quantity is None:
            continue
        content = D(record.values.get(content_param)) if content_param else None
        content = design if content is None else content
        expected = quantity * (baseline - design) * scale * kg_per
        achieved = quantity * (baseline - content) * scale * kg_per
        result.expected_kg += expected
        result.achieved_kg += achieved
        if achieved < expected * (1 - TOLERANCE):
            result.lapses.append(Lapse(record.occurred_at, record.occurred_at, expected - achieved,
                                       f"content {content.normalize():f} > {design.normalize():f}",
                                       records=[record.pk]))


def fixed_per_execution(effect, result, first, last, as_of):
    p = effect.parameters
    per = D(p.get("kg_per_execution"))
    if per is None:
        per = (D(p.get("baseline_kg_per_unit"), ZERO) - D(p.get("actual_kg_per_unit"), ZERO)) \
            * D(p.get("units_per_execution"), Decimal(1))
    result.basis = f"{per.normalize():f} kg CO2 per execution ({p.get('source', 'parameters of the measure effect')})"
    for record in counting_records(effect.measure, first, last):
        result.expected_kg += per
        if record.compliant is False:
            result.lapses.append(Lapse(record.occurred_at, record.occurred_at, per, "not compliant",
                                       records=[record.pk]))
        else:
            result.achieved_kg += per


def effects_for(site, start, end, as_of=None):
    effects = MeasureEffect.objects.filter(measure__site=site).select_related("measure__equipment", "measure__site",
                                                                             "measure__stage")
    return [compute_effect(effect, start, end, as_of) for effect in effects.order_by("measure__code")]
