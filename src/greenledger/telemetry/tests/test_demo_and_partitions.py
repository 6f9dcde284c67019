"""The demo plant's year of data (fast, idempotent, tells its story) and PostgreSQL partitions."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from greenledger.core import demo as core_demo
from greenledger.telemetry import demo, partitions, quality, services
from greenledger.telemetry.models import Gap, MeasuringPoint, Reading, RollupDay, RollupHour

from .factories import at, make_point

pytestmark = pytest.mark.django_db


def test_demo_year_is_idempotent_and_tells_the_story():
    core_demo.load()
    out = io.StringIO()
    demo.load(stdout=out)
    demo.load(stdout=out)
    assert "already loaded" in out.getvalue()
    assert MeasuringPoint.objects.filter(site__code=core_demo.SITE_CODE).count() == len(demo.POINTS)
    fan = MeasuringPoint.objects.get(code="FAN-01.freq")
    now = timezone.now()
    assert RollupDay.objects.filter(point=fan).count() >= 365
    # the lapse: four hours at 50 Hz three days ago
    hours = services.series(fan, now - datetime.timedelta(days=5), now, "hour")
    assert sum(1 for _t, v in hours if v and v > 45) == 4
    # the outage two days ago was filled from the PLC cache; LEAK-01 keeps an open gap
    assert Gap.objects.get(point=fan).filled_at is not None
    assert Gap.objects.get(point__code="LEAK-01.pressure").filled_at is None
    site = fan.site
    year = quality.self_sufficiency(site, now - datetime.timedelta(days=365), now)
    assert 5 < year["share"] < 30
    assert Reading.objects.filter(ts__lt=now - datetime.timedelta(days=8)).count() == 0
    hr = MeasuringPoint.objects.get(code="HR-01.temp")
    assert min(v for _t, v in services.series(hr, now - datetime.timedelta(days=2), now, "15m")) < 50


def test_year_of_hourly_rollups_reads_back_consistently(site):
    meter = make_point(site, code="E", quantity="electricity", cumulative=True, interval=900)
    services.ingest([(meter, at(1, 0) + datetime.timedelta(minutes=15 * i), 10.0 * i) for i in range(96 * 3)],
                    "mqtt")
    assert RollupHour.objects.filter(point=meter).count() == 72
    assert services.consumption([meter], at(1, 0), at(4, 0)) == {meter.pk: 10.0 * (96 * 3 - 1)}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only")
def test_readings_of_a_new_month_get_their_partition(site):
    point = make_point(site)
    services.ingest([(point, datetime.datetime(2024, 2, 10, tzinfo=datetime.UTC), 1.0)], "opcua")
    assert "telemetry_reading_p202402" in partitions.existing()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_reading_p202402")
        assert cursor.fetchone()[0] == 1
    names = partitions.ensure_ahead(2, today=datetime.date(2031, 12, 5))
    assert names == ["telemetry_reading_p203112", "telemetry_reading_p203201", "telemetry_reading_p203202"]


def test_partition_command_runs_on_both_databases():
    out = io.StringIO()
    call_command("telemetry_partitions", "--ahead", "1", stdout=out)
    assert out.getvalue()
