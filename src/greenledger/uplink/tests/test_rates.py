"""Upload rate alarms and reconciliation with the platform's counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from greenledger.core.models import Notification
from greenledger.uplink.client import PlatformClient
from greenledger.uplink.models import OutboxItem
from greenledger.uplink.rates import check_alarms, reconcile
from greenledger.uplink.worker import Worker

from .builders import make_passage

pytestmark = pytest.mark.django_db


def test_a_rate_below_95_percent_alarms_the_environmental_manager_once(site, platform, role_user):
    manager = role_user("environmental_manager", site)
    platform.deadline_minutes = 60
    platform.save()
    old = timezone.now() - timedelta(hours=3)
    for _ in range(10):
        make_passage(site, at=old)  # never sent: past the deadline, unacknowledged
    sent = check_alarms(platform)
    assert sent == ["rate", "backlog"]
    assert Notification.objects.filter(recipient=manager).count() == 2
    assert check_alarms(platform) == []  # not again within six hours


def test_no_alarm_while_everything_is_acknowledged_in_time(site, platform, role_user):
    role_user("environmental_manager", site)
    make_passage(site)
    Worker("w1").run_once()
    assert check_alarms(platform, now=timezone.now() + timedelta(days=1, hours=1)) == []


def test_reconciliation_compares_local_acknowledgements_with_the_platforms_count(site, platform, simulator):
    today = timezone.localdate()
    for _ in range(3):
        make_passage(site)
    Worker("w1").run_once()
    make_passage(site)  # produced, not sent yet
    simulator.state.records.pop(next(iter(simulator.state.records)))  # the platform lost one
    [row] = reconcile(platform, today, today + timedelta(days=1), PlatformClient(platform))
    assert (row["produced"], row["acked"], row["platform"], row["difference"]) == (4, 3, 2, 1)
    assert OutboxItem.objects.count() == 4
