"""Compliance check (合规检查) of the measure ledger for a period, and the annual summary per
measure for the carbon report.

For every measure of the chosen sites: executions the schedule expected, executions that count
(at most one per due slot), recorded misses, late entries, whether a safety inspection kept its
frequency, anomalies and how many were closed by their deadline, and — for continuous measures —
hourly coverage and running / stopped / maintenance hours.

Everything is computed with aggregate queries grouped by measure (no loop over records), so a year
of a large plant stays within seconds. Expected executions come from the schedule's arithmetic
(``schedule.Cadence``); counted executions are the distinct due slots that hold a counting
record, the slot of a record being computed in SQL from its epoch seconds. Slot boundaries use the
site's UTC offset at the start of the period, exact for zones without daylight saving time
(Asia/Shanghai) and at most an hour off around a DST change elsewhere.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import BigIntegerField, Case, Count, ExpressionWrapper, F, Func, Q, Value, When
from django.db.models.functions import Cast
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext, pgettext

from greenledger.core.models import Site
from greenledger.evidence.services import latest_checkpoint

from .models import (
    Anomaly, AnomalyState, ApprovalState, EquipmentStatus, ExecutionRecord, HourlyStatus, Measure,
    MeasureType, MissedExecution, Purpose, ScheduleKind,
)
from .schedule import (
    ANCHOR, COUNTING_RECORDS, cadence_of, expected_count, from_local_seconds, in_force_from, local_midnight,
    local_seconds, shift_starts_by_site, zone_of,
)

HOUR = datetime.timedelta(hours=1)


@dataclass
class MeasureCompliance:
    """The figures of one measure over the period."""

    measure: Measure
    expected: int | None = None  # None: the schedule sets no expectation (continuous, per batch, on event)
    counted: int = 0
    records: int = 0
    missed: int = 0
    late: int = 0
    late_pending: int = 0
    anomalies: int = 0
    anomalies_closed: int = 0
    anomalies_closed_in_time: int = 0
    hours: int | None = None  # hours in the period, continuous measures only
    hours_by_status: dict = field(default_factory=dict)

    @property
    def rate(self):
        """Execution rate in %, or None when nothing was expected."""
        if not self.expected:
            return None
        return round(100 * min(self.counted, self.expected) / self.expected, 1)

    @property
    def anomalies_open(self):
        return self.anomalies - self.anomalies_closed

    @property
    def hours_covered(self):
        return sum(self.hours_by_status.values())

    @property
    def coverage(self):
        if not self.hours:
            return None
        # rows written before the measure came into force must not lift coverage above 100 %
        return round(min(100, 100 * self.hours_covered / self.hours), 1)

    def hours_in(self, status):
        return self.hours_by_status.get(status, 0)

    @property
    def is_safety_inspection(self):
        return self.measure.measure_type == MeasureType.INSPECTION and self.measure.purpose in (
            Purpose.SAFETY, Purpose.BOTH)

    @property
    def inspection_met(self):
        """Safety inspections only: did it keep its frequency (None when not applicable)?"""
        if not self.is_safety_inspection or not self.expected:
            return None
        return self.counted >= self.expected

    @property
    def no_records(self):
        return self.records == 0 and self.hours_covered == 0

    @property
    def below_target(self):
        return self.rate is not None and self.rate < 100


@dataclass
class ComplianceReport:
    sites: list
    start: datetime.date
    end: datetime.date  # inclusive
    generated_at: datetime.datetime
    rows: list
    checkpoint: object = None

    def total(self, name):
        return sum(getattr(r, name) or 0 for r in self.rows)

    @property
    def summary(self):
        expected = self.total("expected")
        counted = sum(min(r.counted, r.expected) for r in self.rows if r.expected)
        return {
            "measures": len(self.rows),
            "expected": expected,
            "counted": counted,
            "rate": round(100 * counted / expected, 1) if expected else None,
            "missed": self.total("missed"),
            "late": self.total("late"),
            "late_pending": self.total("late_pending"),
            "anomalies": self.total("anomalies"),
            "anomalies_closed_in_time": self.total("anomalies_closed_in_time"),
            "anomalies_open": self.total("anomalies_open"),
            "below_target": sum(1 for r in self.rows if r.below_target),
            "no_records": sum(1 for r in self.rows if r.no_records),
            "inspections_not_met": sum(1 for r in self.rows if r.inspection_met is False),
        }

    @property
    def data_used(self):
        """What the report read, so anyone can re-run it against the same evidence checkpoint."""
        return {
            "records": self.total("records"),
            "hourly_rows": sum(r.hours_covered for r in self.rows),
            "anomalies": self.total("anomalies"),
            "misses": self.total("missed"),
        }


# Period -------------------------------------------------------------------------------------------


def as_site_list(sites):
    if isinstance(sites, Site):
        return [sites]
    return list(sites)


def bounds(site, start, end):
    """[local midnight of start, local midnight after end) of ``site`` as aware datetimes."""
    zone = zone_of(site)
    return local_midnight(start, zone), local_midnight(end + datetime.timedelta(days=1), zone)


# The report -------------------------------------------------------------------------------------


def compliance_report(sites, start, end, now=None):
    """Compliance of every active measure of ``sites`` from ``start`` to ``end`` (dates, inclusive)."""
    now = now or timezone.now()
    sites = as_site_list(sites)
    rows = []
    for site in sites:
        rows.extend(site_rows(site, start, end, now))
    return ComplianceReport(sites=sites, start=start, end=end, generated_at=now, rows=rows,
                            checkpoint=latest_checkpoint())


def site_rows(site, start, end, now):
    period_start, period_end = bounds(site, start, end)
    measures = list(Measure.objects.filter(site=site, active=True)
                    .select_related("site", "stage", "responsible"))
    rows = {m.pk: MeasureCompliance(measure=m) for m in measures}
    if not rows:
        return []
    shift_starts = shift_starts_by_site([site.pk]).get(site.pk)
    add_record_counts(rows, site, period_start, period_end)
    add_expectations(rows, site, period_start, period_end, now, shift_starts)
    add_misses(rows, site, period_start, period_end)
    add_anomalies(rows, site, period_start, period_end)
    add_hours(rows, site, period_start, period_end, now)
    return list(rows.values())


def add_record_counts(rows, site, period_start, period_end):
    current = Q(superseded=False)
    figures = (ExecutionRecord.objects
               .filter(site=site, occurred_at__gte=period_start, occurred_at__lt=period_end)
               .values("measure_id")
               .annotate(records=Count("pk", filter=current), counting=Count("pk", filter=COUNTING_RECORDS),
                         late=Count("pk", filter=current & Q(is_late=True)),
                         late_pending=Count("pk", filter=current & Q(late_state=ApprovalState.PENDING))))
    for f in figures:
        row = rows.get(f["measure_id"])
        if row is not None:
            row.records, row.late, row.late_pending = f["records"], f["late"], f["late_pending"]
            # unscheduled measures count every counting record; scheduled ones are replaced by slots below
            row.counted = f["counting"]


def add_expectations(rows, site, period_start, period_end, now, shift_starts):
    """Expected executions per measure, and the distinct due slots that hold a counting record."""
    groups = defaultdict(list)
    for row in rows.values():
        measure = row.measure
        cadence = cadence_of(measure, shift_starts)
        if cadence is None:
            continue
        # a slot is judged once its window has closed
        assessed_end = min(period_end, now - datetime.timedelta(minutes=measure.grace_minutes))
        row.expected = max(0, expected_count(measure, period_start, assessed_end, shift_starts) or 0)
        row.counted = 0
        if row.expected:
            start = in_force_from(measure, period_start, zone_of(site))
            groups[(cadence, measure.grace_minutes, start, assessed_end)].append(row)
    for (cadence, grace, start, assessed_end), group in groups.items():
        for measure_id, slots in filled_slots(site, cadence, grace, start, assessed_end, group):
            row = rows[measure_id]
            row.counted = min(slots, row.expected)


def filled_slots(site, cadence, grace, start, end, group):
    """(measure id, number of distinct due slots with a counting record) for measures sharing a cadence."""
    zone = zone_of(site)
    first_due, after_last = slot_span(cadence, local_seconds(start, zone), local_seconds(end, zone))
    grace_s = grace * 60
    records = ExecutionRecord.objects.filter(
        COUNTING_RECORDS, measure_id__in=[r.measure.pk for r in group],
        occurred_at__gte=from_local_seconds(first_due - grace_s, zone),
        occurred_at__lt=from_local_seconds(after_last - grace_s, zone),
    )
    utc_offset = int(start.astimezone(zone).utcoffset().total_seconds())
    slot = slot_expression(cadence, grace_s, utc_offset)
    per_measure = records.values("measure_id").annotate(slots=Count(slot, distinct=True))
    return per_measure.values_list("measure_id", "slots")


def slot_span(cadence, start, end):
    """Local seconds of the first due time at or after ``start`` and the first at or after ``end``."""
    first = next_due(cadence, start)
    return first, next_due(cadence, max(end, first))


def next_due(cadence, moment):
    times = cadence.times_between(moment, moment + cadence.period + 1)
    return times[0]


class EpochSeconds(Func):
    """Whole seconds since 1970-01-01 UTC of a datetime column, on SQLite and PostgreSQL."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        return super().as_sql(compiler, connection,
                              template="CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s)) AS BIGINT)", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # the format is a parameter so Django's %s placeholder handling cannot touch it
        expression = Cast(Func(Value("%s"), *self.source_expressions, function="strftime"), BigIntegerField())
        return expression.as_sql(compiler, connection)


def integer(expression):
    return ExpressionWrapper(expression, output_field=BigIntegerField())


def slot_expression(cadence, grace_s, utc_offset):
    """SQL for the due slot of ``occurred_at``: the latest slot whose window opened before it.

    A slot (k, i) is due at local second k * period + offsets[i] and accepts records from grace
    seconds before that; shifting by the first offset minus grace makes slot k start at x = k * period.
    """
    offsets = cadence.offsets
    anchor_epoch = int((ANCHOR - datetime.datetime(1970, 1, 1)).total_seconds())
    shift = utc_offset - anchor_epoch + grace_s - offsets[0]
    x = integer(EpochSeconds("occurred_at") + Value(shift))
    k = integer(x / Value(cadence.period))  # x > 0, so integer division is the floor on both databases
    if len(offsets) == 1:
        return k
    r = integer(x - k * Value(cadence.period))
    index = Case(*[When(GreaterThanOrEqual(r, Value(o - offsets[0])), then=Value(i))
                   for i, o in reversed(list(enumerate(offsets))) if i > 0],
                 default=Value(0), output_field=BigIntegerField())
    return integer(k * Value(len(offsets)) + index)


def add_misses(rows, site, period_start, period_end):
    misses = (MissedExecution.objects
              .filter(measure__site=site, due_at__gte=period_start, due_at__lt=period_end)
              .values("measure_id").annotate(n=Count("pk")))
    for f in misses:
        if f["measure_id"] in rows:
            rows[f["measure_id"]].missed = f["n"]


def add_anomalies(rows, site, period_start, period_end):
    closed = Q(state=AnomalyState.CLOSED)
    in_time = closed & (Q(deadline__isnull=True) | Q(closed_at__lte=F("deadline")))
    figures = (Anomaly.objects.filter(site=site, occurred_at__gte=period_start, occurred_at__lt=period_end)
               .values("measure_id")
               .annotate(n=Count("pk"), closed=Count("pk", filter=closed),
                         in_time=Count("pk", filter=in_time)))
    for f in figures:
        row = rows.get(f["measure_id"])
        if row is not None:
            row.anomalies, row.anomalies_closed = f["n"], f["closed"]
            row.anomalies_closed_in_time = f["in_time"]


def add_hours(rows, site, period_start, period_end, now):
    """Hourly coverage and hours by status of continuous measures (current rows only)."""
    continuous = {pk: r for pk, r in rows.items() if r.measure.schedule == ScheduleKind.CONTINUOUS}
    if not continuous:
        return
    zone = zone_of(site)
    last_hour = min(period_end, now.astimezone(zone).replace(minute=0, second=0, microsecond=0))
    for row in continuous.values():
        first = in_force_from(row.measure, period_start, zone)
        row.hours = max(0, int((last_hour - first) / HOUR))
    figures = (HourlyStatus.objects.filter(measure_id__in=list(continuous), superseded=False,
                                           hour__gte=period_start, hour__lt=last_hour)
               .values("measure_id", "status").annotate(n=Count("pk")))
    for f in figures:
        continuous[f["measure_id"]].hours_by_status[f["status"]] = f["n"]


# Views over a report --------------------------------------------------------------------------


def rate_by_stage(report):
    """[(stage name, execution rate %)] in process order, for the dashboard."""
    stages = {}
    for row in report.rows:
        if not row.expected:
            continue
        stage = row.measure.stage
        expected, counted = stages.get(stage, (0, 0))
        stages[stage] = (expected + row.expected, counted + min(row.counted, row.expected))
    ordered = sorted(stages.items(), key=lambda item: (item[0].sequence, item[0].code))
    return [(stage.name, round(100 * counted / expected, 1)) for stage, (expected, counted) in ordered]


# Annual summary ------------------------------------------------------------------------------------


@dataclass
class AnnualLine:
    figures: MeasureCompliance
    text: str

    @property
    def measure(self):
        return self.figures.measure


@dataclass
class AnnualSummary:
    site: Site
    year: int
    report: ComplianceReport
    lines: list


def annual_summary(site, year, now=None):
    """One line per measure of ``site`` for ``year``, e.g. "运行 8,760 h，异常停机 2 次，均已处理"."""
    report = compliance_report(site, datetime.date(year, 1, 1), datetime.date(year, 12, 31), now)
    lines = [AnnualLine(figures=row, text=summary_text(row)) for row in report.rows]
    return AnnualSummary(site=site, year=year, report=report, lines=lines)


def summary_text(row):
    separator = pgettext("between clauses of a summary", ", ")
    return separator.join([activity_clause(row), anomaly_clause(row)])


def activity_clause(row):
    if row.measure.schedule == ScheduleKind.CONTINUOUS:
        return _("Running %(hours)s h") % {"hours": f"{row.hours_in(EquipmentStatus.RUNNING):,}"}
    if row.expected:
        return ngettext("Executed %(counted)s of %(expected)s time (%(rate)s %%)",
                         "Executed %(counted)s of %(expected)s times (%(rate)s %%)", row.expected) % {
            "counted": f"{min(row.counted, row.expected):,}", "expected": f"{row.expected:,}",
            "rate": row.rate}
    return ngettext("Recorded %(count)s time", "Recorded %(count)s times", row.counted) % {
        "count": f"{row.counted:,}"}


def anomaly_clause(row):
    values = {"count": row.anomalies, "open": row.anomalies_open}
    if row.measure.schedule == ScheduleKind.CONTINUOUS:
        if row.anomalies == 0:
            return _("no abnormal stops")
        if row.anomalies_open == 0:
            return ngettext("%(count)s abnormal stop, handled", "%(count)s abnormal stops, all handled",
                            row.anomalies) % values
        return ngettext("%(count)s abnormal stop, %(open)s not closed yet",
                        "%(count)s abnormal stops, %(open)s not closed yet", row.anomalies) % values
    if row.anomalies == 0:
        return _("no anomalies")
    if row.anomalies_open == 0:
        return ngettext("%(count)s anomaly, handled", "%(count)s anomalies, all handled",
                        row.anomalies) % values
    return ngettext("%(count)s anomaly, %(open)s not closed yet",
                    "%(count)s anomalies, %(open)s not closed yet", row.anomalies) % values
