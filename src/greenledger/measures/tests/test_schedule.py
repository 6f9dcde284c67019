"""The scheduler: due times of each schedule kind, idempotent planning, and the reminder →
SMS escalation → shift leader → sealed miss sequence, each step once, driven by fake clocks."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from greenledger.core.models import Notification, NotificationDelivery
from greenledger.evidence.models import Leaf
from greenledger.measures import schedule
from greenledger.measures.models import DueExecution, MissedExecution, Shift

from .factories import make_measure, make_person, make_site
from .factories_schedule import SHANGHAI, at, record_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant():
    return make_site()


@pytest.fixture
def operator(plant, django_user_model):
    person = make_person(plant, "operator", "op", django_user_model)
    person.phone = "13800000000"
    person.save()
    person.user.email = "op@example.com"
    person.user.save()
    return person


@pytest.fixture
def leader(plant, django_user_model):
    return make_person(plant, "shift_leader", "leader", django_user_model)


@pytest.fixture
def daily(plant, operator):
    return make_measure(plant, code="DUST-CHECK", name="除尘器巡检", schedule="daily", params=False,
                        measure_type="operation", due_time=datetime.time(9), responsible=operator)


def local_times(times):
    return [t.astimezone(SHANGHAI).strftime("%d %H:%M") for t in times]


def scheduled(plant, kind, code="M", **extra):
    return make_measure(plant, code=code, schedule=kind, params=False, **extra)


def due_between(measure, start, end):
    return local_times(schedule.due_times(measure, at(*start), at(*end)))


# Due times --------------------------------------------------------------------------------------


def test_every_n_hours_is_due_from_local_midnight(plant):
    measure = make_measure(plant, schedule="every_n_hours", interval_hours=4, params=False)
    times = schedule.due_times(measure, at("2024-10-14"), at("2024-10-15"))
    assert local_times(times) == ["14 00:00", "14 04:00", "14 08:00", "14 12:00", "14 16:00", "14 20:00"]


def test_every_n_hours_that_does_not_divide_a_day_restarts_at_midnight(plant):
    measure = make_measure(plant, schedule="every_n_hours", interval_hours=5, params=False)
    times = schedule.due_times(measure, at("2024-10-14", 18), at("2024-10-15", 6))
    assert local_times(times) == ["14 20:00", "15 00:00", "15 05:00"]


def test_per_shift_uses_the_default_three_shifts_when_the_site_has_none(plant):
    measure = make_measure(plant, schedule="per_shift", params=False)
    times = schedule.due_times(measure, at("2024-10-14"), at("2024-10-15"))
    assert local_times(times) == ["14 00:00", "14 08:00", "14 16:00"]


def test_per_shift_follows_the_site_shifts(plant):
    Shift.objects.create(site=plant, name="白班", start=datetime.time(6), hours=12)
    Shift.objects.create(site=plant, name="夜班", start=datetime.time(18), hours=12)
    measure = make_measure(plant, schedule="per_shift", params=False)
    starts = schedule.shift_starts_by_site([plant.pk])[plant.pk]
    times = schedule.due_times(measure, at("2024-10-14"), at("2024-10-15"), starts)
    assert local_times(times) == ["14 06:00", "14 18:00"]


def test_daily_defaults_to_nine_and_weekly_keeps_its_weekday(plant):
    daily = scheduled(plant, "daily", code="D")
    weekly = scheduled(plant, "weekly", code="W", weekday=2, due_time=datetime.time(14, 30))
    assert due_between(daily, ("2024-10-14",), ("2024-10-16",)) == ["14 09:00", "15 09:00"]
    # 2024-10-16 and 2024-10-23 are Wednesdays
    assert due_between(weekly, ("2024-10-14",), ("2024-10-28",)) == ["16 14:30", "23 14:30"]


def test_unscheduled_kinds_have_no_due_times_and_no_expectation(plant):
    for kind in ("continuous", "per_batch", "on_event"):
        measure = make_measure(plant, code=kind.replace("_", "-"), schedule=kind, params=False)
        assert schedule.due_times(measure, at("2024-10-14"), at("2024-10-15")) == []
        assert schedule.expected_count(measure, at("2024-10-14"), at("2024-10-15")) is None


def test_expected_count_agrees_with_the_due_times(plant):
    measures = [
        scheduled(plant, "every_n_hours", code="A", interval_hours=3),
        scheduled(plant, "every_n_hours", code="B", interval_hours=7),
        scheduled(plant, "per_shift", code="C"),
        scheduled(plant, "weekly", code="D", weekday=6, due_time=datetime.time(23, 59)),
        scheduled(plant, "daily", code="E", due_time=datetime.time(0, 0)),
    ]
    spans = [(at("2024-01-01", 7, 31), at("2024-03-01", 0, 0)), (at("2024-10-14", 8), at("2024-10-14", 8)),
             (at("2024-10-14", 8), at("2024-10-14", 8, 1)), (at("2023-12-31", 23), at("2024-12-31", 1))]
    for measure in measures:
        for start, end in spans:
            expected = schedule.expected_count(measure, start, end)
            assert expected == len(schedule.due_times(measure, start, end)), (measure.code, start, end)


def test_evenly_spaced_due_times_reduce_to_one_offset(plant):
    hourly = scheduled(plant, "every_n_hours", code="H", interval_hours=1)
    assert schedule.cadence_of(hourly) == schedule.Cadence(3600, (0,))
    assert schedule.cadence_of(scheduled(plant, "per_shift", code="S")) == schedule.Cadence(8 * 3600, (0,))
    uneven = schedule.cadence_of(scheduled(plant, "every_n_hours", code="F", interval_hours=5))
    assert uneven.offsets == (0, 5 * 3600, 10 * 3600, 15 * 3600, 20 * 3600)


def test_nothing_is_due_before_the_measure_came_into_force(plant):
    measure = scheduled(plant, "daily", started_on=datetime.date(2024, 10, 15))
    assert due_between(measure, ("2024-10-14",), ("2024-10-17",)) == ["15 09:00", "16 09:00"]
    assert schedule.expected_count(measure, at("2024-10-14"), at("2024-10-17")) == 2


# Planning --------------------------------------------------------------------------------------


def test_planning_is_idempotent(daily):
    now = at("2024-10-14", 8)
    assert schedule.plan(now) == 1
    assert schedule.plan(now) == 0
    assert schedule.plan(now + datetime.timedelta(minutes=30)) == 0
    due = DueExecution.objects.get()
    assert due.due_at == at("2024-10-14", 9) and due.window_end == at("2024-10-14", 10)


def test_planning_covers_an_open_window_and_the_horizon(plant, daily):
    make_measure(plant, code="SHIFTLY", schedule="per_shift", params=False)
    schedule.plan(at("2024-10-14", 8, 30), horizon=datetime.timedelta(hours=24))
    per_shift = DueExecution.objects.filter(measure__code="SHIFTLY")
    # 08:00 is still inside its 60-minute window; the next 24 hours hold 16:00, 00:00 and 08:00
    assert local_times(per_shift.values_list("due_at", flat=True)) == ["14 08:00", "14 16:00", "15 00:00",
                                                                       "15 08:00"]


def test_a_changed_schedule_drops_unannounced_due_rows(daily):
    schedule.plan(at("2024-10-14", 8))
    daily.due_time = datetime.time(10)
    daily.save()
    schedule.plan(at("2024-10-14", 8))
    assert local_times(DueExecution.objects.values_list("due_at", flat=True)) == ["14 10:00"]


def test_a_deactivated_measure_is_no_longer_followed_up(daily):
    schedule.plan(at("2024-10-14", 8))
    schedule.advance(at("2024-10-14", 9))
    daily.active = False
    daily.save()
    schedule.run(at("2024-10-14", 10, 30))
    assert not DueExecution.objects.exists() and not MissedExecution.objects.exists()


# Following up ------------------------------------------------------------------------------------


def notifications_of(person):
    return list(Notification.objects.filter(recipient=person.user).order_by("created_at", "pk"))


def test_reminder_then_sms_then_shift_leader_then_sealed_miss_each_once(daily, operator, leader, mailoutbox):
    schedule.plan(at("2024-10-14", 8))
    timeline = [
        ((8, 30), {}), ((9, 0), {"reminded": 1}), ((9, 10), {}), ((9, 15), {"escalated": 1}), ((9, 20), {}),
        ((9, 30), {"leaders": 1}), ((9, 45), {}), ((10, 0), {}), ((10, 1), {"missed": 1}), ((10, 30), {}),
    ]
    for (hour, minute), expected in timeline:
        counts = schedule.advance(at("2024-10-14", hour, minute))
        assert {k: v for k, v in counts.items() if v} == expected, (hour, minute)

    reminder, escalation, miss = notifications_of(operator)
    assert [d.channel for d in reminder.deliveries.all()] == ["email"] and len(mailoutbox) >= 1
    assert [d.channel for d in escalation.deliveries.all()] == ["sms"]
    assert escalation.deliveries.get().address == "13800000000"
    leader_alert, leader_miss = notifications_of(leader)
    assert [d.channel for d in leader_alert.deliveries.all()] == ["sms"]
    assert "除尘器巡检" in leader_miss.title and miss.level == "alarm"

    due = DueExecution.objects.get()
    assert due.state == DueExecution.State.MISSED
    assert due.reminded_at == at("2024-10-14", 9) and due.escalated_at == at("2024-10-14", 9, 15)
    assert due.leader_escalated_at == at("2024-10-14", 9, 30)
    missed = MissedExecution.objects.get()
    assert (missed.due_at, missed.window_end) == (at("2024-10-14", 9), at("2024-10-14", 10))
    assert Leaf.objects.filter(table="measures.missedexecution", record_id=str(missed.pk)).count() == 1


def test_a_record_in_time_prevents_the_miss(daily, operator, leader):
    schedule.plan(at("2024-10-14", 8))
    schedule.advance(at("2024-10-14", 9))
    record = record_at(daily, operator, at("2024-10-14", 9, 20))
    counts = schedule.advance(at("2024-10-14", 11))
    assert counts["missed"] == 0
    due = DueExecution.objects.get()
    assert due.state == DueExecution.State.DONE and due.record == record
    assert not MissedExecution.objects.exists()
    assert len(notifications_of(operator)) == 1  # the reminder only, no escalation


def test_the_scheduler_finds_a_record_made_before_the_slot_was_planned(daily, operator):
    # executed ten minutes early, inside the grace window, before any scheduler ran
    record = record_at(daily, operator, at("2024-10-14", 8, 50))
    schedule.plan(at("2024-10-14", 8, 55))
    assert schedule.advance(at("2024-10-14", 9))["done"] == 1
    assert DueExecution.objects.get().record == record
    assert not notifications_of(operator)


def test_a_late_entry_after_the_window_leaves_the_miss_in_the_ledger(daily, operator):
    schedule.plan(at("2024-10-14", 8))
    assert schedule.advance(at("2024-10-14", 10, 1))["missed"] == 1
    record = record_at(daily, operator, at("2024-10-14", 9, 5), entered_after=datetime.timedelta(hours=2),
                       late_reason="网络中断")
    assert record.is_late
    assert DueExecution.objects.get().state == DueExecution.State.MISSED
    assert MissedExecution.objects.count() == 1


def test_two_schedulers_do_not_repeat_a_step(daily, operator):
    schedule.plan(at("2024-10-14", 8))
    stale_copy = DueExecution.objects.get()
    schedule.advance(at("2024-10-14", 9))
    # a second scheduler still holding the old row state cannot claim the reminder again
    assert schedule.advance_one(stale_copy, at("2024-10-14", 9)) is None
    assert len(notifications_of(operator)) == 1


def test_the_command_runs_one_round(daily):
    out = StringIO()
    call_command("measures_scheduler", "--once", stdout=out)
    assert "planned=" in out.getvalue() and "missed=" in out.getvalue()
