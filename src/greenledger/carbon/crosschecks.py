"""Cross-checks with production (交叉核验): figures from the measure ledger that production data
contradicts are shown as "needs investigation".

- Seal test vs cell defects: a batch's seal-test pass rate (execution records with a
  ``pass_rate`` parameter) implies a failure share of 100 − pass rate; the batch's recorded defect
  rate (ProductionOutput) should not differ by more than ``margin`` percentage points.
- Cutting-fluid recycling vs consumption: when the recycle rate reported by the measure rose
  against the previous period but new cutting fluid per unit of output did not fall, the recycle
  figures (or the consumption) need a look.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from .activities import convert
from .engine import as_of_rows, month_bounds, overlapping
from .models import ActivityRecord, ProductionOutput

MARGIN = Decimal("1.0")  # percentage points
RATE_RISE = Decimal("2.0")


@dataclass
class Finding:
    kind: str
    title: str
    detail: str
    figures: dict = field(default_factory=dict)
    records: list = field(default_factory=list)


def d(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


def seal_vs_defects(site, start, end, margin=MARGIN):
    from django.utils import timezone

    from greenledger.measures.models import ExecutionRecord

    findings = []
    outputs = as_of_rows(overlapping(ProductionOutput.objects.filter(site=site), start, end), timezone.now())
    for output in outputs.exclude(batch_no="").exclude(defect_rate=None):
        records = [r for r in ExecutionRecord.objects.filter(site=site, batch_no=output.batch_no, superseded=False)
                   if isinstance(r.values.get("pass_rate"), (int, float))]
        if not records:
            continue
        pass_rate = sum(Decimal(str(r.values["pass_rate"])) for r in records) / len(records)
        implied = 100 - pass_rate
        if abs(output.defect_rate - implied) > margin:
            findings.append(Finding(
                "seal_vs_defects", _("Seal test vs cell defect rate, batch %(batch)s") % {"batch": output.batch_no},
                _("Seal-test pass rate %(pass)s %% implies %(implied)s %% failures, but production records a defect "
                  "rate of %(defects)s %%.") % {"pass": d(pass_rate), "implied": d(implied),
                                                "defects": d(output.defect_rate)},
                {"pass_rate": d(pass_rate), "defect_rate": d(output.defect_rate), "batch": output.batch_no},
                [r.pk for r in records]))
    return findings


def fluid_per_output(site, start, end):
    now = datetime.datetime.now(datetime.UTC)
    fluid = sum((convert(r.quantity, r.unit, "L") for r in as_of_rows(overlapping(
        ActivityRecord.objects.filter(site=site, activity="cutting_fluid"), start, end), now)), Decimal(0))
    output = sum((o.quantity for o in as_of_rows(overlapping(ProductionOutput.objects.filter(site=site, final=True),
                                                             start, end), now)), Decimal(0))
    return (fluid / output) if fluid and output else None


def recycle_rate(site, start, end):
    from greenledger.measures.models import ExecutionRecord

    rates = [Decimal(str(r.values["recycle_rate"])) for r in ExecutionRecord.objects.filter(
        site=site, superseded=False, occurred_at__date__gte=start, occurred_at__date__lte=end)
        if isinstance(r.values.get("recycle_rate"), (int, float))]
    return (sum(rates) / len(rates)) if rates else None


def fluid_recycling(site, start, end):
    previous_end = start - datetime.timedelta(days=1)
    previous_start = month_bounds(previous_end.year, previous_end.month)[0]
    now_rate, before_rate = recycle_rate(site, start, end), recycle_rate(site, previous_start, previous_end)
    now_use, before_use = fluid_per_output(site, start, end), fluid_per_output(site, previous_start, previous_end)
    if None in (now_rate, before_rate, now_use, before_use):
        return []
    if now_rate - before_rate >= RATE_RISE and now_use >= before_use:
        return [Finding(
            "fluid_recycling", _("Cutting-fluid recycle rate vs consumption"),
            _("The recycle rate rose from %(a)s %% to %(b)s %% but new cutting fluid per unit of output did not fall "
              "(%(c)s → %(e)s L).") % {"a": d(before_rate), "b": d(now_rate), "c": d(before_use), "e": d(now_use)},
            {"recycle_before": d(before_rate), "recycle_now": d(now_rate), "fluid_before": d(before_use),
             "fluid_now": d(now_use)})]
    return []


def cross_checks(site, start, end):
    return [*seal_vs_defects(site, start, end), *fluid_recycling(site, start, end)]
