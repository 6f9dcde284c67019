"""Measure records and emission reports reach only the platforms whose regulator asks for them."""

import datetime

import pytest
from django.utils import timezone

from greenledger.carbon.reports import issue_report
from greenledger.measures.models import ExecutionRecord
from greenledger.measures.tests.factories import make_measure
from greenledger.core.models import Person
from greenledger.uplink.mapping import local_text
from greenledger.uplink.models import Kind, OutboxItem, State
from greenledger.uplink.worker import Worker

from .builders import make_platform

pytestmark = pytest.mark.django_db


def _record(site, **fields):
    measure = make_measure(site, code="SEAL-UP")
    person = Person.objects.create(name="王工")
    return ExecutionRecord.objects.create(
        measure=measure, site=site, stage=measure.stage, executor=person, equipment=measure.equipment,
        occurred_at=timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=3),
        values={"pass_rate": 99.2}, compliant=True, batch_no="B-2026-11-30-01", **fields)


def test_a_measure_record_goes_only_to_platforms_that_ask_and_arrives_mapped(site, simulator, tmp_path,
                                                                             monkeypatch):
    asks = make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, code="city",
                         send_measure_records=True)
    make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, code="province", app_id="GL-OTHER")
    record = _record(site)
    items = OutboxItem.objects.filter(kind=Kind.MEASURE_RECORD)
    assert [i.platform_id for i in items] == [asks.pk]
    assert Worker("w1", platform_ids=[asks.pk]).run_once()["acked"] == 1
    assert items.get().state == State.ACKED
    sent = simulator.state.records[("GL-TEST", str(record.pk))]
    assert sent["kind"] == "measure_record"
    data = sent["data"]
    assert data["measureCode"] == "SEAL-UP" and data["executor"] == "王工" and data["params"] == {"pass_rate": 99.2}
    assert data["execTime"] == local_text(record.occurred_at) and data["compliant"] == "1"
    assert data["lateEntry"] == "0" and data["batchNo"] == "B-2026-11-30-01" and data["correctsRecordNo"] == ""


def test_an_issued_emission_report_is_sent_with_its_totals_and_factor_versions(site, simulator, tmp_path,
                                                                               monkeypatch):
    platform = make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, send_emission_reports=True)
    _record(site)  # this platform does not ask for measure records
    report = issue_report(site, datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    assert list(OutboxItem.objects.values_list("kind", flat=True)) == [Kind.EMISSION_REPORT]
    assert Worker("w1", platform_ids=[platform.pk]).run_once()["acked"] == 1
    data = simulator.state.records[("GL-TEST", str(report.pk))]["data"]
    assert data["periodStart"] == "2026-10-01" and data["periodEnd"] == "2026-10-31"
    assert data["totals"] == report.content["totals"] and data["factors"] == report.content["factors"]


def test_no_platform_asks_nothing_is_queued(site, platform):
    _record(site)
    assert not OutboxItem.objects.filter(kind=Kind.MEASURE_RECORD).exists()
