"""Data of the carbon dashboard's charts (ECharts): a year of monthly emissions by scope and by
workshop, intensity, unit-product emissions before/after each measure started (with the
measure's anomalies alongside), and renewable self-sufficiency when telemetry has generation."""

import datetime
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from . import engine, telemetry_bridge


def t(value):
    return float((Decimal(value) / 1000).quantize(Decimal("0.001")))


def months_back(count, today=None):
    today = today or timezone.localdate()
    year, month = today.year, today.month
    firsts = []
    for _i in range(count):
        firsts.append(datetime.date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(firsts))


def dashboard_data(site, months=12, today=None):
    firsts = months_back(months, today)
    results = engine.monthly(site, firsts[0], months)
    labels = [f"{r.start:%Y-%m}" for r in results]
    workshops = {}
    for i, result in enumerate(results):
        for row in result.by_workshop():
            name = row["workshop"].name if row["workshop"] is not None else "—"
            workshops.setdefault(name, [0.0] * months)[i] = t(row["total"])
    intensity = []
    for result in results:
        values = result.intensity()
        intensity.append(round(float(values[0]["kg_per_unit"]), 4) if values else None)
    data = {
        "months": labels,
        "scope1": [t(r.scope1) for r in results],
        "scope2": [t(r.scope2_location) for r in results],
        "scope2_market": [t(r.scope2_market) for r in results],
        "intensity": intensity,
        "intensity_unit": next((f"kg CO2 / {v[0]['unit']} {v[0]['product']}" for v in
                                (r.intensity() for r in results) if v), ""),
        "workshops": [{"name": name, "data": values} for name, values in workshops.items()],
        "measures": before_after(site, results),
        "renewable": renewable(site, results),
    }
    return data


def before_after(site, results):
    """Per measure in force since a date in the chart's span: its stage's kg CO2 per unit each month."""
    from greenledger.measures.models import Anomaly, Measure

    first, last = results[0].start, results[-1].end
    out = []
    candidates = Measure.objects.filter(site=site, started_on__gt=first, started_on__lte=last,
                                        purpose__in=["reduction", "both"]).select_related("stage")
    for measure in candidates:
        series = []
        for result in results:
            row = next((r for r in result.by_workshop() if r["workshop"] is not None
                        and r["workshop"].pk == measure.stage_id), None)
            series.append(round(float(row["intensity"]), 4) if row and row["intensity"] is not None else None)
        failures = dict(Anomaly.objects.filter(measure=measure, occurred_at__date__gte=first,
                                               occurred_at__date__lte=last)
                        .values_list("occurred_at__month").annotate(n=Count("pk")).values_list("occurred_at__month",
                                                                                                 "n"))
        if all(v is None for v in series):
            continue  # the stage records no output: no unit-product figure to compare
        before = [v for r, v in zip(results, series) if v is not None and r.end < measure.started_on]
        after = [v for r, v in zip(results, series) if v is not None and r.start >= measure.started_on]
        out.append({"code": measure.code, "name": measure.name, "stage": measure.stage.name,
                    "started": f"{measure.started_on:%Y-%m}", "intensity": series,
                    "failures": [failures.get(r.start.month, 0) for r in results],
                    "before": round(sum(before) / len(before), 3) if before else None,
                    "after": round(sum(after) / len(after), 3) if after else None})
    return out


def renewable(site, results):
    if not telemetry_bridge.available():
        return None
    shares = []
    any_generation = False
    for result in results:
        figures = telemetry_bridge.self_sufficiency(site, result.start, result.end)
        if figures is None:
            return None
        any_generation = True
        produced, consumed = figures
        shares.append(round(100 * produced / consumed, 1) if consumed else None)
    return {"share": shares} if any_generation else None
