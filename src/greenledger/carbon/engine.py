"""Emissions engine (排放核算): activity data × factor versions → emissions by scope, workshop,
equipment and activity, market-based scope 2 with green certificates, and intensity per product.

``compute(site, start, end, as_of=None)`` reads only what existed at ``as_of`` (activity rows
recorded by then and not yet corrected by then, factor versions current then), so the same call
with the same ``as_of`` always gives the same figures: that is what makes a report reproducible.
Rows whose period straddles the report's period count pro rata by days.

Scope 2, location-based: electricity × the grid factor of the site's region for the year.
Scope 2, market-based: electricity not covered by green certificates / green-power contracts ×
the national factor excluding market-traded non-fossil power (the closest Chinese residual mix);
covered kWh count zero. Heat uses the same factor in both.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from .activities import ACTIVITIES, convert
from .factors import FactorNotFound, factor_ref, select_factor
from .models import ActivityRecord, GreenCertificate, GridBasis, ProductionOutput
from .services import profile_of

ZERO = Decimal(0)
KG = Decimal("0.001")


def days(start, end):
    return (end - start).days + 1


def overlap_fraction(row_start, row_end, start, end) -> Decimal:
    first, last = max(row_start, start), min(row_end, end)
    if last < first:
        return ZERO
    return Decimal(days(first, last)) / Decimal(days(row_start, row_end))


def overlapping(queryset, start, end):
    return queryset.filter(period_start__lte=end, period_end__gte=start)


def as_of_rows(queryset, as_of):
    """Rows recorded by ``as_of`` and not corrected by then."""
    return queryset.filter(recorded_at__lte=as_of).exclude(corrections__recorded_at__lte=as_of)


@dataclass
class Line:
    scope: int
    activity: str
    workshop: object
    equipment: object
    unit: str
    factor: object
    quantity: Decimal = ZERO
    kg: Decimal = ZERO
    market_kg: Decimal = ZERO
    records: list = field(default_factory=list)

    @property
    def label(self):
        return ACTIVITIES[self.activity].label


@dataclass
class Emissions:
    site: object
    start: datetime.date
    end: datetime.date
    as_of: datetime.datetime
    lines: list
    factors: dict
    electricity_kwh: Decimal
    green_kwh: Decimal
    residual_factor: object
    outputs: list
    problems: list
    counts: dict

    @property
    def scope1(self):
        return sum((line.kg for line in self.lines if line.scope == 1), ZERO)

    @property
    def scope2_location(self):
        return sum((line.kg for line in self.lines if line.scope == 2), ZERO)

    @property
    def scope2_market(self):
        return sum((line.market_kg for line in self.lines if line.scope == 2), ZERO)

    @property
    def total(self):
        return self.scope1 + self.scope2_location

    @property
    def total_market(self):
        return self.scope1 + self.scope2_market

    @property
    def covered_kwh(self):
        return min(self.green_kwh, self.electricity_kwh)

    def by(self, key):
        groups = defaultdict(lambda: {"scope1": ZERO, "scope2": ZERO, "scope2_market": ZERO})
        for line in self.lines:
            g = groups[key(line)]
            g["scope1" if line.scope == 1 else "scope2"] += line.kg
            if line.scope == 2:
                g["scope2_market"] += line.market_kg
        return groups

    def by_workshop(self):
        out_by_workshop = defaultdict(lambda: ZERO)
        units = {}
        for o in self.outputs:
            if o["workshop"] is not None:
                out_by_workshop[o["workshop"].pk] += o["quantity"]
                units[o["workshop"].pk] = f"{o['unit']} {o['product']}"
        rows = []
        for workshop, g in self.by(lambda line: line.workshop).items():
            total = g["scope1"] + g["scope2"]
            output = out_by_workshop.get(workshop.pk) if workshop is not None else None
            rows.append({"workshop": workshop, **g, "total": total, "output": output,
                         "output_unit": units.get(workshop.pk) if workshop is not None else None,
                         "intensity": (total / output) if output else None})
        return sorted(rows, key=lambda r: (r["workshop"] is None, getattr(r["workshop"], "sequence", 0),
                                           getattr(r["workshop"], "code", "")))

    def by_equipment(self):
        rows = [{"equipment": eq, **g, "total": g["scope1"] + g["scope2"]}
                for eq, g in self.by(lambda line: line.equipment).items() if eq is not None]
        return sorted(rows, key=lambda r: -r["total"])

    def by_activity(self):
        groups = {}
        for line in self.lines:
            g = groups.setdefault(line.activity, {"activity": line.activity, "label": line.label, "scope": line.scope,
                                                  "quantity": ZERO, "unit": line.unit, "kg": ZERO,
                                                  "market_kg": ZERO})
            g["quantity"] += line.quantity
            g["kg"] += line.kg
            g["market_kg"] += line.market_kg if line.scope == 2 else line.kg
        return sorted(groups.values(), key=lambda g: (g["scope"], -g["kg"]))

    def final_output(self):
        totals = defaultdict(lambda: ZERO)
        for o in self.outputs:
            if o["final"]:
                totals[(o["product"], o["unit"])] += o["quantity"]
        return [{"product": p, "unit": u, "quantity": q} for (p, u), q in sorted(totals.items())]

    def intensity(self):
        """kg CO2 per unit of each final product (site total over that product's output)."""
        return [{**o, "kg_per_unit": self.total / o["quantity"], "market_kg_per_unit": self.total_market / o["quantity"]}
                for o in self.final_output() if o["quantity"]]


def compute(site, start, end, as_of=None) -> Emissions:
    as_of = as_of or timezone.now()
    profile = profile_of(site)
    records = as_of_rows(overlapping(ActivityRecord.objects.filter(site=site), start, end), as_of)
    records = records.select_related("workshop", "equipment").order_by("period_start", "pk")
    lines, factors, problems = {}, {}, []
    chosen = {}  # (activity, year) -> factor version: one lookup per kind, not per row
    electricity_kwh = ZERO
    counted_records = 0
    for record in records:
        spec = ACTIVITIES[record.activity]
        fraction = overlap_fraction(record.period_start, record.period_end, start, end)
        if not spec.counted or fraction == 0:
            continue
        counted_records += 1
        year = max(record.period_start, start).year
        factor = chosen.get((spec.code, year))
        if factor is None:
            try:
                factor = chosen[(spec.code, year)] = select_factor(
                    spec.code, year=year, region=profile.grid_region, gwp_set=profile.gwp_set, as_of=as_of)
            except FactorNotFound as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
                continue
        factors[factor.pk] = factor
        quantity = convert(record.quantity, record.unit, spec.unit) * fraction
        key = (spec.code, record.workshop_id, record.equipment_id, factor.pk)
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(spec.scope, spec.code, record.workshop, record.equipment, spec.unit, factor)
        line.quantity += quantity
        line.kg += quantity * factor.kg_per_unit
        line.records.append(str(record.pk))
        if spec.category == "electricity":
            electricity_kwh += quantity

    certificates = as_of_rows(overlapping(GreenCertificate.objects.filter(site=site), start, end), as_of)
    green_kwh = sum((c.mwh * 1000 * overlap_fraction(c.period_start, c.period_end, start, end) for c in certificates),
                    ZERO)
    residual = None
    if electricity_kwh:
        try:
            residual = select_factor("electricity", year=start.year, region="national", basis=GridBasis.RESIDUAL,
                                     as_of=as_of)
            factors[residual.pk] = residual
        except FactorNotFound as exc:
            problems.append(str(exc))
    uncovered_share = (1 - min(green_kwh, electricity_kwh) / electricity_kwh) if electricity_kwh else ZERO
    for line in lines.values():
        if line.scope != 2:
            continue
        if ACTIVITIES[line.activity].category == "electricity":
            line.market_kg = line.quantity * uncovered_share * (residual.kg_per_unit if residual else line.factor.kg_per_unit)
        else:
            line.market_kg = line.kg

    outputs = []
    output_rows = as_of_rows(overlapping(ProductionOutput.objects.filter(site=site), start, end), as_of)
    for o in output_rows.select_related("workshop"):
        fraction = overlap_fraction(o.period_start, o.period_end, start, end)
        outputs.append({"product": o.product, "unit": o.unit, "workshop": o.workshop, "final": o.final,
                        "quantity": o.quantity * fraction})
    counts = {"activity_records": counted_records, "certificates": certificates.count(), "outputs": len(outputs)}
    return Emissions(site, start, end, as_of, sorted(lines.values(), key=lambda l: (l.scope, l.activity)),
                     factors, electricity_kwh, green_kwh, residual, outputs, problems, counts)


def month_bounds(year, month):
    start = datetime.date(year, month, 1)
    end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return start, end


def monthly(site, first: datetime.date, months: int, as_of=None):
    """Emissions for ``months`` consecutive months from ``first``: the dashboard's time series."""
    out = []
    year, month = first.year, first.month
    for _i in range(months):
        start, end = month_bounds(year, month)
        out.append(compute(site, start, end, as_of))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


# The report's figures as plain JSON (what an issued report freezes) -----------------------------


def kg(value):
    return None if value is None else str(Decimal(value).quantize(KG))


def ref(obj):
    return None if obj is None else {"id": obj.pk, "code": obj.code, "name": obj.name}


def to_dict(result: Emissions, checkpoint=None) -> dict:
    return {
        "site": {"id": result.site.pk, "code": result.site.code, "name": result.site.name},
        "period": {"start": result.start.isoformat(), "end": result.end.isoformat()},
        "as_of": result.as_of.isoformat(),
        "grid_region": profile_of(result.site).grid_region,
        "totals": {"scope1": kg(result.scope1), "scope2_location": kg(result.scope2_location),
                   "scope2_market": kg(result.scope2_market), "total": kg(result.total),
                   "total_market": kg(result.total_market)},
        "by_workshop": [{"workshop": ref(r["workshop"]), "scope1": kg(r["scope1"]), "scope2": kg(r["scope2"]),
                         "scope2_market": kg(r["scope2_market"]), "total": kg(r["total"]),
                         "output": None if r["output"] is None else str(r["output"]), "output_unit": r["output_unit"],
                         "intensity": kg(r["intensity"])} for r in result.by_workshop()],
        "by_equipment": [{"equipment": ref(r["equipment"]), "total": kg(r["total"])} for r in result.by_equipment()],
        "by_activity": [{"activity": g["activity"], "label": str(g["label"]), "scope": g["scope"],
                         "quantity": str(g["quantity"].quantize(KG)), "unit": g["unit"], "kg": kg(g["kg"]),
                         "market_kg": kg(g["market_kg"])} for g in result.by_activity()],
        "lines": [{"scope": l.scope, "activity": l.activity, "workshop": ref(l.workshop), "equipment": ref(l.equipment),
                   "quantity": str(l.quantity.quantize(KG)), "unit": l.unit,
                   "factor": f"{l.factor.code} v{l.factor.version}", "kg_per_unit": str(l.factor.kg_per_unit.normalize()),
                   "kg": kg(l.kg), "market_kg": kg(l.market_kg) if l.scope == 2 else None,
                   "records": l.records} for l in result.lines],
        "factors": [factor_ref(f) for f in sorted(result.factors.values(), key=lambda f: (f.code, f.version))],
        "green": {"electricity_kwh": str(result.electricity_kwh.quantize(KG)),
                  "green_kwh": str(result.green_kwh.quantize(KG)), "covered_kwh": str(result.covered_kwh.quantize(KG)),
                  "residual_factor": None if result.residual_factor is None else
                  f"{result.residual_factor.code} v{result.residual_factor.version}"},
        "output": [{"product": o["product"], "unit": o["unit"], "quantity": str(o["quantity"].quantize(KG))}
                   for o in result.final_output()],
        "intensity": [{"product": i["product"], "unit": i["unit"], "kg_per_unit": kg(i["kg_per_unit"]),
                       "market_kg_per_unit": kg(i["market_kg_per_unit"])} for i in result.intensity()],
        "data_used": result.counts,
        "problems": result.problems,
        "checkpoint": None if checkpoint is None else {
            "tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash,
            "created_at": checkpoint.created_at.isoformat()},
    }

