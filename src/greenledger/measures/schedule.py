"""Schedules of measures (执行计划): when a measure is due, the due executions planned from that,
and the reminders, escalations and recorded misses that follow when nothing is recorded.

A schedule is reduced to a :class:`Cadence`: a period in seconds and the offsets inside it at
which the measure is due, counted in the site's local wall-clock time from a Monday midnight.
Every N hours, per shift, daily and weekly schedules all fit that form, so planning (here) and
expected-execution arithmetic (``compliance.py``) share one definition.

The scheduler works on ``DueExecution`` rows, one per measure and due time:

1. ``plan(now)`` creates the rows for the coming horizon (idempotent).
2. ``advance(now)`` walks the pending rows that are due: a counting record in the slot closes the
   row as done; otherwise it reminds the responsible person (in-app + e-mail), escalates by SMS
   after ``escalate_after_minutes``, then alerts the shift leaders, and once the window has
   closed records a sealed ``MissedExecution``. One step per row per run, each step once: a
   conditional UPDATE on the row's timestamp claims the step, so two schedulers never repeat it.

Every function takes ``now`` so tests can move time without sleeping.
"""

import datetime
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from greenledger.core.models import NotificationLevel
from greenledger.core.notifications import notify

from .models import (
    SCHEDULED_KINDS, ApprovalState, DueExecution, ExecutionRecord, Measure, MissedExecution, ScheduleKind,
    Shift,
)
from .services import shift_leaders

DAY = 86400
WEEK = 7 * DAY
DEFAULT_DUE_TIME = datetime.time(9, 0)
DEFAULT_SHIFT_STARTS = (datetime.time(0, 0), datetime.time(8, 0), datetime.time(16, 0))
DEFAULT_HORIZON = datetime.timedelta(hours=24)
# Local wall-clock seconds are counted from a Monday so weekly offsets are weekday * DAY + time.
ANCHOR = datetime.datetime(1970, 1, 5)

# A record counts towards a due execution when it is the current version, on time or approved
# late, and not rejected by the company contact (the same rule as ExecutionRecord.counts).
COUNTING_RECORDS = (Q(superseded=False, late_state__in=[ApprovalState.NOT_NEEDED, ApprovalState.APPROVED])
                    & ~Q(confirmation_state=ApprovalState.REJECTED))


# Cadence: the arithmetic of a schedule --------------------------------------------------------


@dataclass(frozen=True)
class Cadence:
    """Due at ``ANCHOR + k * period + offset`` (local wall-clock seconds) for every k and offset."""

    period: int
    offsets: tuple[int, ...]

    def count_between(self, start, end):
        """How many due times lie in [start, end) (local seconds): closed form, no enumeration."""
        if end <= start:
            return 0
        period = self.period
        return sum(math.ceil((end - o) / period) - math.ceil((start - o) / period) for o in self.offsets)

    def simplified(self):
        """Evenly spaced offsets become one offset in a shorter period: the same due times, and a
        much cheaper slot expression in SQL (hourly checks would otherwise need 24 branches)."""
        count = len(self.offsets)
        if count < 2 or self.period % count:
            return self
        step = self.period // count
        if any(b - a != step for a, b in zip(self.offsets, self.offsets[1:])):
            return self
        return Cadence(step, (self.offsets[0] % step,))

    def times_between(self, start, end):
        """The due times in [start, end) as local seconds, in order."""
        first_k = math.floor((start - max(self.offsets)) / self.period)
        result = []
        k = first_k
        while k * self.period + min(self.offsets) < end:
            result.extend(t for o in self.offsets if start <= (t := k * self.period + o) < end)
            k += 1
        return sorted(result)


def seconds_of(moment):
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def shift_starts_by_site(site_ids):
    """{site_id: [shift start times]} in one query (per-shift schedules need them)."""
    starts = {}
    for site_id, start in Shift.objects.filter(site_id__in=site_ids).values_list("site_id", "start"):
        starts.setdefault(site_id, []).append(start)
    return starts


def cadence_of(measure, shift_starts=None):
    """The cadence of a scheduled measure; None for continuous, per-batch and on-event ones."""
    cadence = raw_cadence(measure, shift_starts)
    return cadence.simplified() if cadence is not None else None


def raw_cadence(measure, shift_starts):
    kind = measure.schedule
    if kind == ScheduleKind.EVERY_N_HOURS:
        step = measure.interval_hours or 24
        if step > 24:
            return Cadence(step * 3600, (0,))
        # restarts at every local midnight, so 5-hourly means 00, 05, 10, 15, 20 each day
        return Cadence(DAY, tuple(h * 3600 for h in range(0, 24, step)))
    if kind == ScheduleKind.PER_SHIFT:
        starts = sorted(set(shift_starts or DEFAULT_SHIFT_STARTS))
        return Cadence(DAY, tuple(seconds_of(s) for s in starts))
    if kind == ScheduleKind.DAILY:
        return Cadence(DAY, (seconds_of(measure.due_time or DEFAULT_DUE_TIME),))
    if kind == ScheduleKind.WEEKLY:
        weekday = (measure.weekday or 0) % 7
        return Cadence(WEEK, (weekday * DAY + seconds_of(measure.due_time or DEFAULT_DUE_TIME),))
    return None


# Local time --------------------------------------------------------------------------------------


def zone_of(site):
    return ZoneInfo(site.time_zone or settings.TIME_ZONE)


def local_seconds(moment, zone):
    """Wall-clock seconds since ANCHOR in ``zone``: due times follow the clock on the wall."""
    return (moment.astimezone(zone).replace(tzinfo=None) - ANCHOR).total_seconds()


def from_local_seconds(seconds, zone):
    return (ANCHOR + datetime.timedelta(seconds=seconds)).replace(tzinfo=zone).astimezone(datetime.UTC)


def local_midnight(day, zone):
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)


def in_force_from(measure, start, zone):
    """The later of ``start`` and the local midnight of the day the measure came into force."""
    if measure.started_on is None:
        return start
    return max(start, local_midnight(measure.started_on, zone))


def due_times(measure, start, end, shift_starts=None):
    """Aware due times of ``measure`` in [start, end), not before it came into force."""
    cadence = cadence_of(measure, shift_starts)
    if cadence is None:
        return []
    zone = zone_of(measure.site)
    start = in_force_from(measure, start, zone)
    return [from_local_seconds(s, zone)
            for s in cadence.times_between(local_seconds(start, zone), local_seconds(end, zone))]


def expected_count(measure, start, end, shift_starts=None):
    """How many executions the schedule asks for in [start, end); None when it sets no expectation."""
    cadence = cadence_of(measure, shift_starts)
    if cadence is None:
        return None
    zone = zone_of(measure.site)
    start = in_force_from(measure, start, zone)
    return cadence.count_between(local_seconds(start, zone), local_seconds(end, zone))


# Planning ---------------------------------------------------------------------------------------


def scheduled_measures():
    return Measure.objects.filter(active=True, schedule__in=SCHEDULED_KINDS).select_related("site")


def plan(now, horizon=DEFAULT_HORIZON, measures=None):
    """Create the due executions of the coming ``horizon``; return how many were created.

    Slots whose window is still open are planned too, so a scheduler that was down a while still
    reminds about them. Pending rows that no longer match the schedule (it was changed, or the
    measure was deactivated) and were not yet announced are removed.
    """
    measures_given = measures is not None
    measures = list(measures if measures_given else scheduled_measures())
    starts = shift_starts_by_site({m.site_id for m in measures})
    wanted = {}
    for measure in measures:
        grace = datetime.timedelta(minutes=measure.grace_minutes)
        for due_at in due_times(measure, now - grace, now + horizon, starts.get(measure.site_id)):
            wanted[(measure.pk, due_at)] = due_at + grace
    existing = set(DueExecution.objects.filter(due_at__gte=min((d for _m, d in wanted), default=now))
                   .values_list("measure_id", "due_at"))
    DueExecution.objects.bulk_create(
        [DueExecution(measure_id=m, due_at=d, window_end=end) for (m, d), end in wanted.items()
         if (m, d) not in existing],
        ignore_conflicts=True,  # another scheduler may plan the same slot at the same moment
    )
    drop_stale(now, horizon, set(wanted), [m.pk for m in measures] if measures_given else None)
    return len(set(wanted) - existing)


def drop_stale(now, horizon, wanted, measure_ids=None):
    """Forget future, unannounced due rows the current schedules no longer produce."""
    pending = DueExecution.objects.filter(state=DueExecution.State.PENDING)
    if measure_ids is None:
        # a deactivated measure is no longer due at all, announced or not
        pending.filter(measure__active=False).delete()
    future = pending.filter(reminded_at__isnull=True, due_at__gt=now, due_at__lt=now + horizon)
    if measure_ids is not None:
        future = future.filter(measure_id__in=measure_ids)
    stale = [pk for pk, m, d in future.values_list("pk", "measure_id", "due_at") if (m, d) not in wanted]
    if stale:
        DueExecution.objects.filter(pk__in=stale).delete()


# Following up ------------------------------------------------------------------------------------


def fulfilling_record(due):
    """A counting record inside the due row's acceptance window, if one exists."""
    grace = datetime.timedelta(minutes=due.measure.grace_minutes)
    records = ExecutionRecord.objects.filter(COUNTING_RECORDS, measure_id=due.measure_id,
                                             occurred_at__gte=due.due_at - grace,
                                             occurred_at__lte=due.window_end)
    return records.order_by("occurred_at").first()


def claim(due, field, now):
    """Set a step's timestamp only if no one did; True when this call took the step."""
    return DueExecution.objects.filter(pk=due.pk, state=DueExecution.State.PENDING,
                                       **{f"{field}__isnull": True}).update(**{field: now}) == 1


def advance(now):
    """Move every pending, due execution one step further; return counts per step taken."""
    counts = {"done": 0, "reminded": 0, "escalated": 0, "leaders": 0, "missed": 0}
    pending = (DueExecution.objects.filter(state=DueExecution.State.PENDING, due_at__lte=now)
               .select_related("measure__site", "measure__responsible__user").order_by("due_at"))
    for due in pending:
        step = advance_one(due, now)
        if step:
            counts[step] += 1
    return counts


def advance_one(due, now):
    """Take the next step for one due row: done, missed, reminded, escalated or leaders (or none)."""
    record = fulfilling_record(due)
    if record is not None:
        updated = DueExecution.objects.filter(pk=due.pk, state=DueExecution.State.PENDING).update(
            state=DueExecution.State.DONE, record=record)
        return "done" if updated else None
    escalate_after = datetime.timedelta(minutes=due.measure.escalate_after_minutes)
    if due.window_end < now:
        return "missed" if record_miss(due, now) else None
    if due.reminded_at is None:
        return "reminded" if claim(due, "reminded_at", now) and send_reminder(due) else None
    if due.escalated_at is None and now >= due.due_at + escalate_after:
        return "escalated" if claim(due, "escalated_at", now) and send_escalation(due) else None
    if due.leader_escalated_at is None and due.escalated_at and now >= due.due_at + 2 * escalate_after:
        return "leaders" if claim(due, "leader_escalated_at", now) and send_to_leaders(due) else None
    return None


def record_miss(due, now):
    """Close the row as missed and seal the miss in the ledger, once."""
    with transaction.atomic():
        if not DueExecution.objects.filter(pk=due.pk, state=DueExecution.State.PENDING).update(
                state=DueExecution.State.MISSED):
            return False
        if not MissedExecution.objects.filter(measure_id=due.measure_id, due_at=due.due_at).exists():
            MissedExecution(measure_id=due.measure_id, due_at=due.due_at, window_end=due.window_end,
                            recorded_at=now).save()
    send_miss(due)
    return True


def run(now, horizon=DEFAULT_HORIZON):
    """One scheduler round: plan ahead, then follow up on what is due."""
    from .telemetry_status import derive_recent

    planned = plan(now, horizon)
    counts = advance(now)
    return {"planned": planned, **counts, "hourly_from_telemetry": derive_recent(now)}


# Messages ---------------------------------------------------------------------------------------


def responsible_users(measure):
    person = measure.responsible
    user = person.user if person is not None and person.user_id else None
    return [user] if user is not None and user.is_active else []


def measure_link(measure):
    try:
        return reverse("measures:measure_detail", args=[measure.pk])
    except NoReverseMatch:
        return "/measures/"


def facts(due):
    zone = zone_of(due.measure.site)
    person = due.measure.responsible
    return {"measure": due.measure.name, "person": person.name if person else "—",
            "time": due.due_at.astimezone(zone).strftime("%m-%d %H:%M"),
            "end": due.window_end.astimezone(zone).strftime("%m-%d %H:%M")}


def send_reminder(due):
    notify(responsible_users(due.measure), _("Measure due: %(measure)s") % facts(due),
           _("%(measure)s is due at %(time)s. Record it by %(end)s.") % facts(due),
           link=measure_link(due.measure), channels=("email",))
    return True


def send_escalation(due):
    notify(responsible_users(due.measure), _("Overdue: %(measure)s") % facts(due),
           _("%(measure)s was due at %(time)s and is not recorded yet.") % facts(due),
           link=measure_link(due.measure), level=NotificationLevel.WARNING, channels=("sms",))
    return True


def send_to_leaders(due):
    notify(shift_leaders(due.measure.site), _("Overdue at your site: %(measure)s") % facts(due),
           _("%(measure)s (responsible: %(person)s) was due at %(time)s and is not recorded yet.")
           % facts(due),
           link=measure_link(due.measure), level=NotificationLevel.WARNING, channels=("sms",))
    return True


def send_miss(due):
    people = {u.pk: u for u in [*responsible_users(due.measure), *shift_leaders(due.measure.site)]}
    notify(list(people.values()), _("Missed: %(measure)s") % facts(due),
           _("%(measure)s due at %(time)s was not recorded by %(end)s. The miss is in the ledger.")
           % facts(due),
           link=measure_link(due.measure), level=NotificationLevel.ALARM, channels=("email",))
    return True
