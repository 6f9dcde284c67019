"""Gate statistics (门禁统计) for a site and a period: what the performance-rating review asks about.

- passages per day (entries, exits, blocked);
- share by emission stage; share of 国五-and-above and new-energy vehicles (all and heavy trucks);
- clean-transport share (清洁运输比例) from transport records: tonnes by mode, ``CLEAN_MODES`` vs road;
- manual releases and blocks and their reasons;
- compliance per carrier: share of its passages by compliant vehicles, and how many were blocked;
- alert-day behaviour: daily heavy-truck counts by stage on alert days vs normal days;
- dwell time (entry → paired exit) and waiting time (manual check → guard's decision).

Every figure is an aggregate query over the ``(site, occurred_at)`` index, so a month of a
3,000-passage/day plant takes well under a second on PostgreSQL (``bench/gate_stats_bench.py``).
An alert day is a day on which the gate decided at least one passage under an alert level: the level
recorded on the passage is what the gate actually applied.
"""

import datetime
import statistics as stats
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncDate

from .codes import NEW_ENERGY_FUELS, AlertLevel, Decision, Direction, EmissionStage, VehicleClass
from .models import CLEAN_MODES, ActionKind, Passage, PassageAction, TransportMode, TransportRecord

CLEAN_STAGES = (EmissionStage.CN5, EmissionStage.CN6, EmissionStage.ELECTRIC)
OLD_STAGES = (EmissionStage.CN0, EmissionStage.CN1, EmissionStage.CN2, EmissionStage.CN3, EmissionStage.CN4)
ALERT_ORDER = {AlertLevel.NONE: 0, AlertLevel.YELLOW: 1, AlertLevel.ORANGE: 2, AlertLevel.RED: 3}
STAGE_GROUPS = ("old", "5", "6", "nev", "other")  # the columns of the alert-day table


def zone_of(site):
    return ZoneInfo(site.time_zone or settings.TIME_ZONE)


def month_bounds(day):
    first = day.replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return first, last


@dataclass
class DayRow:
    day: datetime.date
    entries: int = 0
    exits: int = 0
    blocked: int = 0
    manual: int = 0

    @property
    def total(self):
        return self.entries + self.exits


@dataclass
class AlertDay:
    day: datetime.date
    level: str
    heavy: int = 0
    by_group: dict = field(default_factory=lambda: dict.fromkeys(STAGE_GROUPS, 0))

    @property
    def is_alert(self):
        return self.level != AlertLevel.NONE


@dataclass
class CarrierRow:
    name: str
    passages: int
    compliant: int
    blocked: int
    manual: int

    @property
    def compliant_share(self):
        return share(self.compliant, self.passages)

    @property
    def blocked_share(self):
        return share(self.blocked, self.passages)


@dataclass
class GateStatistics:
    site: object
    start: datetime.date
    end: datetime.date
    total: int
    days: list
    stages: list          # (stage code, label, count, share %)
    compliant_share: Decimal | None
    nev_share: Decimal | None
    heavy_total: int
    heavy_compliant_share: Decimal | None
    transport: list       # (mode code, label, tonnes, clean?)
    clean_share: Decimal | None
    actions: dict         # kind -> count
    reasons: list         # (kind label, reason, count)
    carriers: list
    alert_days: list
    alert_summary: dict
    dwell: dict
    waiting: dict

    @property
    def period_label(self):
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


def share(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def period_bounds(site, start, end):
    """[since, until) of the local days ``start``–``end``."""
    zone = zone_of(site)
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return since, until


def passages_in(site, start, end):
    """The site's passages from the start of ``start`` to the end of ``end`` (local days)."""
    since, until = period_bounds(site, start, end)
    return Passage.objects.filter(site=site, occurred_at__gte=since, occurred_at__lt=until)


ACTION_LATENESS = datetime.timedelta(days=31)


def actions_in(site, start, end):
    """Manual releases and blocks of the period's passages.

    An action comes after its passage, so the actions' own time narrows the (small) actions table
    first and only those rows are checked against their passage's site and time.
    """
    since, until = period_bounds(site, start, end)
    return PassageAction.objects.filter(occurred_at__gte=since, occurred_at__lt=until + ACTION_LATENESS,
                                        passage__site=site, passage__occurred_at__gte=since,
                                        passage__occurred_at__lt=until,
                                        kind__in=[ActionKind.RELEASE, ActionKind.BLOCK])


@contextmanager
def aggregate_memory():
    """On PostgreSQL, room for the month's grouping in memory (the 4 MB default spills a sort to disk)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '32MB'")
        yield


def gate_statistics(site, start, end):
    """All figures for ``site`` from ``start`` to ``end`` (dates, inclusive)."""
    passages = passages_in(site, start, end)
    with aggregate_memory():
        rows = day_profile(site, passages)
        dwell = dwell_figures(passages)
    profile = vehicle_profile(rows)
    total = sum(profile.values())
    transport, clean = transport_shares(site, start, end)
    manual = actions_in(site, start, end)
    actions, reasons = manual_actions(manual)
    alert_days = alert_day_rows(rows, start, end)
    return GateStatistics(
        site=site, start=start, end=end, total=total, days=per_day(rows, start, end),
        stages=stage_shares(profile, total), **compliance_shares(profile),
        transport=transport, clean_share=clean, actions=actions, reasons=reasons,
        carriers=per_carrier(rows), alert_days=alert_days, alert_summary=summarise_alert_days(alert_days),
        dwell=dwell, waiting=waiting_figures(manual),
    )


def day_profile(site, passages):
    """One grouped scan of the period: counts by day × direction × class × stage × fuel × alert × outcome
    × carrier. A month gives a few thousand rows; every per-day, share, carrier and alert-day figure is
    summed from them.
    """
    zone = zone_of(site)
    return list(passages.annotate(day=TruncDate("occurred_at", tzinfo=zone))
                .values("day", "direction", "vehicle_class", "stage", "fuel", "alert_level", "final_decision",
                        "carrier_name")
                .annotate(n=Count("pk"), manual=Count("pk", filter=Q(handled_by_id__isnull=False))).order_by())


def vehicle_profile(rows):
    """{(vehicle class, stage, fuel): count}."""
    profile = defaultdict(int)
    for r in rows:
        profile[(r["vehicle_class"], r["stage"], r["fuel"])] += r["n"]
    return dict(profile)


def stage_shares(profile, total):
    counts = defaultdict(int)
    for (_class, stage, _fuel), n in profile.items():
        counts[stage] += n
    labels = dict(EmissionStage.choices)
    order = list(labels)
    return [(stage, labels.get(stage, stage), n, share(n, total))
            for stage, n in sorted(counts.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99)]


def is_compliant(stage, fuel):
    return stage in CLEAN_STAGES or fuel in NEW_ENERGY_FUELS


def is_nev(stage, fuel):
    return stage == EmissionStage.ELECTRIC or fuel in NEW_ENERGY_FUELS


def compliance_shares(profile):
    total = sum(profile.values())
    compliant = sum(n for (_c, stage, fuel), n in profile.items() if is_compliant(stage, fuel))
    nev = sum(n for (_c, stage, fuel), n in profile.items() if is_nev(stage, fuel))
    heavy = {key: n for key, n in profile.items() if key[0] == VehicleClass.HEAVY_TRUCK}
    heavy_total = sum(heavy.values())
    heavy_compliant = sum(n for (_c, stage, fuel), n in heavy.items() if is_compliant(stage, fuel))
    return {"compliant_share": share(compliant, total), "nev_share": share(nev, total), "heavy_total": heavy_total,
            "heavy_compliant_share": share(heavy_compliant, heavy_total)}


def per_day(rows, start, end):
    days = {start + datetime.timedelta(days=i): DayRow(start + datetime.timedelta(days=i))
            for i in range((end - start).days + 1)}
    for r in rows:
        row = days.get(r["day"])
        if row is None:
            continue
        if r["direction"] == Direction.IN:
            row.entries += r["n"]
        else:
            row.exits += r["n"]
        row.blocked += r["n"] if r["final_decision"] == Decision.BLOCK else 0
        row.manual += r["manual"]
    return list(days.values())


def transport_shares(site, start, end):
    """Tonnes by mode from transport records overlapping the period, and the clean share."""
    rows = (TransportRecord.objects.filter(site=site, period_start__lte=end, period_end__gte=start)
            .values("mode").annotate(tonnes=Sum("tonnes")).order_by())
    tonnes = {r["mode"]: r["tonnes"] or Decimal(0) for r in rows}
    result = [(mode, label, tonnes[mode], mode in CLEAN_MODES) for mode, label in TransportMode.choices
              if mode in tonnes]
    total = sum(tonnes.values(), Decimal(0))
    clean = sum((t for mode, t in tonnes.items() if mode in CLEAN_MODES), Decimal(0))
    return result, share(clean, total)


def manual_actions(actions, top=30):
    """({kind: count}, the most frequent (kind label, reason, count)) in one grouped query."""
    rows = list(actions.values("kind", "reason").annotate(n=Count("pk")).order_by())
    counts = {kind: sum(r["n"] for r in rows if r["kind"] == kind) for kind in (ActionKind.RELEASE, ActionKind.BLOCK)}
    labels = dict(ActionKind.choices)
    rows.sort(key=lambda r: (-r["n"], r["reason"]))
    return counts, [(labels[r["kind"]], r["reason"], r["n"]) for r in rows[:top]]


def per_carrier(rows):
    carriers = {}
    for r in rows:
        if not r["carrier_name"]:
            continue
        row = carriers.setdefault(r["carrier_name"], CarrierRow(r["carrier_name"], 0, 0, 0, 0))
        row.passages += r["n"]
        row.compliant += r["n"] if is_compliant(r["stage"], r["fuel"]) else 0
        row.blocked += r["n"] if r["final_decision"] == Decision.BLOCK else 0
        row.manual += r["manual"]
    return sorted(carriers.values(), key=lambda c: (-c.passages, c.name))


def stage_group(stage, fuel):
    if is_nev(stage, fuel):
        return "nev"
    if stage in OLD_STAGES:
        return "old"
    if stage in (EmissionStage.CN5, EmissionStage.CN6):
        return stage
    return "other"


def alert_day_rows(rows, start, end):
    """Per day: the highest alert level the gate applied and the heavy trucks that came in, by stage."""
    days = {start + datetime.timedelta(days=i): AlertDay(start + datetime.timedelta(days=i), AlertLevel.NONE)
            for i in range((end - start).days + 1)}
    for r in rows:
        row = days.get(r["day"])
        if row is None:
            continue
        if ALERT_ORDER.get(r["alert_level"], 0) > ALERT_ORDER.get(row.level, 0):
            row.level = r["alert_level"]
        if r["vehicle_class"] == VehicleClass.HEAVY_TRUCK and r["direction"] == Direction.IN:
            row.heavy += r["n"]
            row.by_group[stage_group(r["stage"], r["fuel"])] += r["n"]
    return list(days.values())


def summarise_alert_days(rows):
    """Mean daily heavy-truck entries (all and 国四-and-below) on alert days vs normal days."""
    def mean(values):
        return round(sum(values) / len(values), 1) if values else None

    alert = [r for r in rows if r.is_alert]
    normal = [r for r in rows if not r.is_alert]
    return {
        "alert_days": len(alert), "normal_days": len(normal),
        "alert_mean": mean([r.heavy for r in alert]), "normal_mean": mean([r.heavy for r in normal]),
        "alert_old_mean": mean([r.by_group["old"] for r in alert]),
        "normal_old_mean": mean([r.by_group["old"] for r in normal]),
    }


def minutes_summary(seconds):
    if not seconds:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    seconds = sorted(seconds)
    p90 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.9))]
    return {"count": len(seconds), "mean": round(stats.fmean(seconds) / 60, 1),
            "median": round(stats.median(seconds) / 60, 1), "p90": round(p90 / 60, 1)}


def dwell_figures(passages):
    """Dwell time in minutes of paired visits, counted once per exit (the exit carries the pairing).

    Summed per whole minute in the database, so a month of visits comes back as a few hundred rows.
    """
    exits = passages.filter(direction=Direction.OUT, dwell_seconds__isnull=False)
    rows = (exits.annotate(minute=F("dwell_seconds") / 60).values("minute")
            .annotate(n=Count("pk"), s=Sum("dwell_seconds")).order_by())
    return histogram_summary([(r["minute"], r["n"], r["s"]) for r in rows])


def histogram_summary(buckets):
    """count / mean / median / p90 in minutes from (whole minute, count, seconds summed) buckets."""
    count = sum(n for _m, n, _s in buckets)
    if not count:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    mean = round(sum(s for _m, _n, s in buckets) / count / 60, 1)
    return {"count": count, "mean": mean, "median": quantile(buckets, count, 0.5),
            "p90": quantile(buckets, count, 0.9)}


def quantile(buckets, count, q):
    seen = 0
    for minute, n, _s in sorted(buckets):
        seen += n
        if seen >= q * count:
            return float(minute)
    return float(sorted(buckets)[-1][0])


def waiting_figures(actions):
    """Minutes a vehicle sent to manual check waited for the guard's release or block."""
    rows = (actions.filter(passage__decision=Decision.MANUAL).values("passage_id")
            .annotate(acted=Min("occurred_at"), passed=Min("passage__occurred_at")).values_list("passed", "acted"))
    return minutes_summary([max(0, (acted - passed).total_seconds()) for passed, acted in rows])
