"""Record intake over the API: idempotent on the client id, confirmation round trip, tokens,
contractors, filters and the batch trace."""

import base64
import datetime
import uuid

import pytest
from django.utils import timezone

from greenledger.core.demo import tiny_png
from greenledger.core.models import ApiToken
from greenledger.measures.models import ExecutionRecord

from .factories import make_measure, make_person, make_site, minutes_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant():
    return make_site()


@pytest.fixture
def operator(plant, django_user_model):
    return make_person(plant, "operator", "op", django_user_model)


def post(client, payload, **headers):
    return client.post("/api/measures/records", payload, content_type="application/json", **headers)


def test_offline_phone_sync_twice_stores_once(client, plant, operator):
    measure = make_measure(plant)
    client.force_login(operator.user)
    payload = {"id": str(uuid.uuid4()), "measure": measure.pk, "occurred_at": minutes_ago(200).isoformat(),
               "entered_at": minutes_ago(198).isoformat(), "values": {"pass_rate": 99.1}, "source": "offline",
               "photos": [{"name": "现场.png", "content_base64": base64.b64encode(tiny_png()).decode()}]}
    first = post(client, payload)
    second = post(client, payload)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"] == payload["id"]
    assert ExecutionRecord.objects.count() == 1
    record = ExecutionRecord.objects.get()
    assert not record.is_late and record.source == "offline"
    assert record.occurred_at == datetime.datetime.fromisoformat(payload["occurred_at"])


def test_out_of_range_needs_confirm_flag(client, plant, operator):
    measure = make_measure(plant)
    client.force_login(operator.user)
    payload = {"id": str(uuid.uuid4()), "measure": measure.pk, "occurred_at": minutes_ago(3).isoformat(),
               "values": {"pass_rate": 80}}
    response = post(client, payload)
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["rule"] == "confirm" and error["field"] == "values.pass_rate"
    response = post(client, {**payload, "confirm": True})
    assert response.status_code == 201 and response.json()["compliant"] is False


def test_validation_errors_use_the_one_error_format(client, plant, operator):
    measure = make_measure(plant)
    client.force_login(operator.user)
    response = post(client, {"measure": measure.pk, "occurred_at": minutes_ago(3).isoformat(), "values": {}})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "values.pass_rate", "rule": "required",
                                          "message": response.json()["errors"][0]["message"]}]
    response = post(client, {"measure": measure.pk, "occurred_at": "yesterday"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "occurred_at"


def test_terminal_token_records_for_a_named_executor(client, plant, operator):
    measure = make_measure(plant)
    _token, secret = ApiToken.issue(name="防爆终端", site=plant, purpose="measures")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    response = post(client, {"measure": measure.pk, "occurred_at": minutes_ago(2).isoformat(),
                             "executor": operator.pk, "values": {"pass_rate": 99}, "tag_scanned": "NFC-plant-SEAL"},
                    **auth)
    assert response.status_code == 201, response.content
    assert response.json()["executor"] == operator.name
    by_tag = client.get("/api/measures/measures?tag=NFC-plant-SEAL", **auth).json()
    assert [m["code"] for m in by_tag] == ["SEAL-TEST"]


def test_token_of_another_site_cannot_record(client, plant, operator):
    measure = make_measure(plant)
    elsewhere = make_site(code="elsewhere")
    _token, secret = ApiToken.issue(name="终端", site=elsewhere, purpose="measures")
    response = post(client, {"measure": measure.pk, "occurred_at": minutes_ago(2).isoformat(),
                             "executor": operator.pk, "values": {"pass_rate": 99}},
                    HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 404


def test_supplier_cannot_record(client, plant, django_user_model):
    measure = make_measure(plant)
    supplier = make_person(plant, "supplier", "sup", django_user_model)
    client.force_login(supplier.user)
    response = post(client, {"measure": measure.pk, "occurred_at": minutes_ago(2).isoformat(),
                             "values": {"pass_rate": 99}})
    assert response.status_code == 403


def test_record_query_by_keywords_flags_and_batch(client, plant, operator):
    measure = make_measure(plant)
    client.force_login(operator.user)
    for n, (batch, remark) in enumerate([("LC20241015", "2 个电芯未通过"), ("LC20241016", "正常")]):
        post(client, {"measure": measure.pk, "occurred_at": minutes_ago(10 + n).isoformat(),
                      "values": {"pass_rate": 99}, "batch_no": batch, "remarks": remark})
    found = client.get("/api/measures/records", {"q": "封装 密封 电芯未通过"}).json()
    assert [r["batch_no"] for r in found] == ["LC20241015"]
    assert len(client.get("/api/measures/records", {"batch": "lc20241016"}).json()) == 1
    # a date keyword finds the records of that local day (the two may lie either side of a midnight)
    days = [timezone.localtime(r.occurred_at).date() for r in ExecutionRecord.objects.filter(measure=measure)]
    assert len(days) == 2
    for day in set(days):
        expected = days.count(day)
        found = client.get("/api/measures/records", {"q": f"锂电池 {day:%Y%m%d}"}).json()
        assert len(found) == expected
    trace = client.get("/api/measures/trace/LC20241015").json()
    assert trace["stages"][0]["stage"] == "电芯封装"
    assert trace["stages"][0]["events"][0]["remarks"] == "2 个电芯未通过"


def test_anomaly_reported_and_closed_over_the_api(client, plant, operator, django_user_model):
    measure = make_measure(plant)
    client.force_login(operator.user)
    response = client.post("/api/measures/anomalies", {
        "measure": measure.pk, "occurred_at": minutes_ago(30).isoformat(), "symptom": "蒸汽压力骤降",
        "extra_quantity": "50", "extra_unit": "m³", "extra_activity": "天然气", "extra_co2_kg": "108.4",
    }, content_type="application/json")
    assert response.status_code == 201
    anomaly_id = response.json()["id"]
    denied = client.post(f"/api/measures/anomalies/{anomaly_id}/events", {"kind": "handling"},
                         content_type="application/json")
    assert denied.status_code == 403
    leader = make_person(plant, "shift_leader", "leader", django_user_model)
    client.force_login(leader.user)
    closed = client.post(f"/api/measures/anomalies/{anomaly_id}/events",
                         {"kind": "closed", "text": "已修复", "corrective_action": "更换阀门"},
                         content_type="application/json")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_two_character_keywords_find_the_same_records_on_every_database(client, plant, operator):
    from greenledger.measures import services as measure_services

    measure = make_measure(plant)
    record, _, _ = measure_services.record_execution(measure_services.RecordInput(
        measure=measure, occurred_at=minutes_ago(4), executor=operator, entered_by=operator.user,
        values={"pass_rate": 99}))
    measure_services.report_anomaly(measure=measure, record=record, occurred_at=record.occurred_at, symptom="渗漏")
    client.force_login(operator.user)
    found = client.get("/api/measures/records", {"q": "封装 异常"}).json()
    assert [r["id"] for r in found] == [str(record.pk)]
    assert client.get("/api/measures/records", {"q": "封装 焊接"}).json() == []
