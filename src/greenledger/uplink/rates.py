"""Upload rate (数据传输率), backlog, alarms and reconciliation (对账) of a platform.

The rate of a day or month is: records recorded in that period (first deliveries only — passages,
registry changes; images and re-uploads are not records of their own) that the platform
acknowledged within the platform's deadline, divided by all records recorded in the period whose
deadline has passed or that are already acknowledged. HJ 1321-2023 practice asks for at least 95 %.

Alarms (through core notifications, to the site's environmental managers): the rate over the last
24 hours of records whose deadline has passed falls below 95 %, or the oldest pending record has
waited longer than the platform's backlog threshold. Each alarm repeats at most every 6 hours.

Reconciliation compares, per day of the records' own time, what we produced and what we hold
acknowledgements for with the counts the platform reports (``GET /records/count``).
"""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, ExpressionWrapper, F, Min, Q
from django.db.models.fields import DateTimeField
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import RECORD_KINDS, OutboxItem, State

TARGET_RATE = 95.0
ALARM_CHECK_EVERY = datetime.timedelta(minutes=5)
ALARM_REPEAT = datetime.timedelta(hours=6)


def zone_of(platform):
    name = getattr(platform.site, "time_zone", "") or settings.TIME_ZONE
    return ZoneInfo(name)


def records(platform):
    return OutboxItem.objects.filter(platform=platform, kind__in=RECORD_KINDS, reupload=False)


def _deadline(platform):
    return datetime.timedelta(minutes=platform.deadline_minutes)


def _in_time(platform):
    return Q(state=State.ACKED, acked_at__lte=ExpressionWrapper(F("produced_at") + _deadline(platform),
                                                                output_field=DateTimeField()))


def _figures(platform, queryset, now):
    deadline = _deadline(platform)
    return queryset.aggregate(
        produced=Count("pk"),
        in_time=Count("pk", filter=_in_time(platform)),
        acked=Count("pk", filter=Q(state=State.ACKED)),
        due=Count("pk", filter=Q(produced_at__lte=now - deadline) | Q(state=State.ACKED)),
        dead=Count("pk", filter=Q(state=State.DEAD)),
        backfilled=Count("pk", filter=Q(state=State.ACKED, backfilled=True)),
    )


def rate(in_time, due):
    return round(100.0 * in_time / due, 2) if due else None


def upload_rate(platform, start, end, *, by="day", now=None):
    """Rows per day (or month) of [start, end) local dates: produced, acknowledged in time, rate %…"""
    now = now or timezone.now()
    zone = zone_of(platform)
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    until = datetime.datetime.combine(end, datetime.time.min, tzinfo=zone)
    trunc = TruncMonth if by == "month" else TruncDate
    deadline = _deadline(platform)
    rows = (records(platform).filter(produced_at__gte=since, produced_at__lt=until)
            .annotate(period=trunc("produced_at", tzinfo=zone)).values("period").order_by("period")
            .annotate(produced=Count("pk"), in_time=Count("pk", filter=_in_time(platform)),
                      acked=Count("pk", filter=Q(state=State.ACKED)),
                      due=Count("pk", filter=Q(produced_at__lte=now - deadline) | Q(state=State.ACKED)),
                      dead=Count("pk", filter=Q(state=State.DEAD)),
                      backfilled=Count("pk", filter=Q(state=State.ACKED, backfilled=True))))
    result = []
    for row in rows:
        period = row["period"]
        if isinstance(period, datetime.datetime):
            period = period.astimezone(zone).date()
        result.append({**row, "period": period, "rate": rate(row["in_time"], row["due"]),
                       "pending": row["produced"] - row["acked"] - row["dead"]})
    return result


def backlog(platform, now=None):
    """Pending items (queued or being sent, images included), oldest age in minutes, dead letters."""
    now = now or timezone.now()
    pending = OutboxItem.objects.filter(platform=platform, state__in=(State.QUEUED, State.SENDING))
    figures = pending.aggregate(count=Count("pk"), oldest=Min("produced_at"))
    oldest = figures["oldest"]
    return {"count": figures["count"], "oldest_at": oldest,
            "oldest_minutes": int((now - oldest).total_seconds() // 60) if oldest else None,
            "dead": OutboxItem.objects.filter(platform=platform, state=State.DEAD).count()}


def last_day_rate(platform, now=None):
    """Rate over records recorded in the 24 hours before their deadline ran out (what the alarm watches)."""
    now = now or timezone.now()
    until = now - _deadline(platform)
    figures = _figures(platform, records(platform).filter(produced_at__gt=until - datetime.timedelta(days=1),
                                                          produced_at__lte=until), now)
    return rate(figures["in_time"], figures["due"]), figures


def check_alarms(platform, *, now=None):
    """Notify the site's environmental managers when the rate or the backlog is out of bounds."""
    from .models import CircuitState

    now = now or timezone.now()
    circuit = CircuitState.objects.get_or_create(platform=platform)[0]
    sent = []
    value, _figures_ = last_day_rate(platform, now)
    if value is not None and value < TARGET_RATE and _may_repeat(circuit.rate_alarm_at, now):
        _alarm(platform, _("Upload rate to %(platform)s is %(rate)s %%") % {"platform": platform.name, "rate": value},
               _("Below the required %(target)s %% over the last 24 hours. Check the uplink dashboard.")
               % {"target": TARGET_RATE})
        CircuitState.objects.filter(pk=circuit.pk).update(rate_alarm_at=now)
        sent.append("rate")
    queue = backlog(platform, now)
    if queue["oldest_minutes"] is not None and queue["oldest_minutes"] > platform.backlog_alarm_minutes \
            and _may_repeat(circuit.backlog_alarm_at, now):
        _alarm(platform, _("Uplink backlog to %(platform)s: %(count)d records waiting") % {
            "platform": platform.name, "count": queue["count"]},
            _("The oldest has waited %(minutes)d minutes.") % {"minutes": queue["oldest_minutes"]})
        CircuitState.objects.filter(pk=circuit.pk).update(backlog_alarm_at=now)
        sent.append("backlog")
    return sent


def _may_repeat(last, now):
    return last is None or now - last >= ALARM_REPEAT


def _alarm(platform, title, body):
    from greenledger.core.models import NotificationLevel
    from greenledger.core.notifications import notify
    from greenledger.gate.alerts import people_to_tell

    notify(people_to_tell(platform.site, roles=("environmental_manager",)), title, body, link="/uplink/",
           level=NotificationLevel.WARNING, channels=("sms",))


# ---------------------------------------------------------------- reconciliation


def local_counts(platform, start, end):
    """{date: {"produced": n, "acked": n, "dead": n}} by the records' own local date, [start, end)."""
    zone = zone_of(platform)
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    until = datetime.datetime.combine(end, datetime.time.min, tzinfo=zone)
    rows = (records(platform).filter(occurred_at__gte=since, occurred_at__lt=until)
            .annotate(day=TruncDate("occurred_at", tzinfo=zone)).values("day").order_by("day")
            .annotate(produced=Count("pk"), acked=Count("pk", filter=Q(state=State.ACKED)),
                      dead=Count("pk", filter=Q(state=State.DEAD))))
    return {row["day"]: row for row in rows}


def reconcile(platform, start, end, client=None):
    """Rows per day: produced, acknowledged here, the platform's count, and the difference."""
    from .client import PlatformClient, UplinkError

    local = local_counts(platform, start, end)
    client = client or PlatformClient(platform)
    rows = []
    day = start
    while day < end:
        mine = local.get(day, {"produced": 0, "acked": 0, "dead": 0})
        error = ""
        try:
            counts = client.counts(day)
            theirs = sum(int(counts.get(kind, 0)) for kind in RECORD_KINDS)
        except UplinkError as exc:
            theirs, error = None, str(exc)
        rows.append({"day": day, "produced": mine["produced"], "acked": mine["acked"], "dead": mine["dead"],
                     "platform": theirs, "difference": None if theirs is None else mine["acked"] - theirs,
                     "error": error})
        day += datetime.timedelta(days=1)
    return rows
