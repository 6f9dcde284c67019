"""Data quality (数据质量) per point and period: completeness, staleness, gaps, duplicates,
out-of-range readings; and the energy figures of the dashboard (live power per workshop,
renewable self-sufficiency).

Completeness = good readings received / readings expected (period ÷ expected interval), counted
from the rollups so it stays fast over months. A point is *stale* when its last reading is older
than three expected intervals.
"""

import datetime
from collections import defaultdict

from django.db.models import Count, Q, Sum
from django.utils import timezone

from . import services
from .models import Gap, MeasuringPoint, PointStatus, Quantity, Rollup15m, RollupHour

STALE_FACTOR = services.STALE_FACTOR


def is_stale(point, status, now=None):
    now = now or timezone.now()
    if status is None or status.last_ts is None:
        return True
    return now - status.last_ts > datetime.timedelta(seconds=point.expected_interval_seconds * STALE_FACTOR)


def completeness(points, start, end):
    """Rows per point: point, status, received, expected, percent, stale, open gaps, gaps in period."""
    points = list(points)
    ids = [p.pk for p in points]
    model = Rollup15m if end - start <= datetime.timedelta(days=14) else RollupHour
    received = dict(model.objects.filter(point_id__in=ids, bucket__gte=start, bucket__lt=end)
                    .values("point_id").annotate(n=Sum("count")).values_list("point_id", "n"))
    statuses = PointStatus.objects.in_bulk(ids)
    gaps = {row["point"]: row for row in Gap.objects.filter(point_id__in=ids).values("point").annotate(
        open=Count("pk", filter=Q(filled_at__isnull=True)),
        in_period=Count("pk", filter=Q(start__lt=end, end__gt=start)))}
    now = timezone.now()
    seconds = (min(end, now) - start).total_seconds()
    rows = []
    for p in points:
        expected = max(int(seconds // max(p.expected_interval_seconds, 1)), 0)
        got = received.get(p.pk) or 0
        status = statuses.get(p.pk)
        rows.append({
            "point": p, "status": status, "received": got, "expected": expected,
            "percent": min(100.0, 100.0 * got / expected) if expected else None,
            "stale": p.active and is_stale(p, status, now),
            "open_gaps": gaps.get(p.pk, {}).get("open", 0), "gaps": gaps.get(p.pk, {}).get("in_period", 0),
        })
    return rows


def live_power(site, now=None):
    """Current power (kW) per workshop from the electricity meters' last complete 15 minutes
    (kWh × 4). Power points on single machines are detail and are not added (no double counting);
    generation points are listed apart."""
    now = now or timezone.now()
    points = {p.pk: p for p in electricity_points(site).filter(active=True).select_related("workshop")}
    latest = {}
    for row in Rollup15m.objects.filter(point_id__in=list(points), bucket__gte=now - datetime.timedelta(minutes=45),
                                        bucket__lt=now - datetime.timedelta(minutes=15)).order_by("bucket"):
        latest[row.point_id] = row
    by_workshop = defaultdict(float)
    generation, as_of = 0.0, None
    for pid, row in latest.items():
        p = points[pid]
        kw = ((row.delta or 0.0) if p.cumulative else row.sum) * 4
        at = row.bucket + datetime.timedelta(minutes=15)
        as_of = max(as_of, at) if as_of else at
        if p.generation:
            generation += kw
        else:
            by_workshop[p.workshop.name if p.workshop_id else "—"] += kw
    return {"workshops": sorted(by_workshop.items(), key=lambda item: -item[1]),
            "total": sum(by_workshop.values()), "generation": generation, "as_of": as_of}


def electricity_points(site):
    """The site's electricity meters (kWh): the balance is taken from meters, not machine power points."""
    return MeasuringPoint.objects.filter(site=site, quantity=Quantity.ELECTRICITY)


def self_sufficiency(site, start, end):
    """Own generation, consumption (kWh) and generation ÷ consumption in [start, end)."""
    points = list(electricity_points(site))
    energy = services.consumption(points, start, end, resolution="15m" if end - start <= datetime.timedelta(
        days=3) else "hour")
    generated = sum(v for pid, v in energy.items() if any(p.pk == pid and p.generation for p in points))
    consumed = sum(v for pid, v in energy.items() if any(p.pk == pid and not p.generation for p in points))
    return {"generation": generated, "consumption": consumed,
            "share": min(100.0, 100.0 * generated / consumed) if consumed else None}


def daily_balance(site, start, end):
    """[(day, generation kWh, consumption kWh)] per day of the site (from the daily rollups)."""
    from .models import RollupDay

    points = {p.pk: p for p in electricity_points(site)}
    days = defaultdict(lambda: [0.0, 0.0])
    rows = RollupDay.objects.filter(point_id__in=list(points), bucket__gte=start, bucket__lt=end)
    for pid, bucket, delta, total in rows.values_list("point_id", "bucket", "delta", "sum"):
        days[bucket][0 if points[pid].generation else 1] += (delta or 0.0) if points[pid].cumulative else total
    return [(day, gen, use) for day, (gen, use) in sorted(days.items())]
