"""Transports for real: HTTP bulk API with tokens and sessions, MQTT against the Mosquitto on
127.0.0.1:1883 (skipped locally when absent, required in CI), OPC UA against an asyncua server
started here on a free port."""

import datetime
import json
import socket
import uuid

import pytest
from django.contrib.auth.models import Group

from conftest import service_or_skip
from greenledger.core.models import ApiToken
from greenledger.telemetry.models import IntakeError, Reading

from .factories import make_point, recent

pytestmark = pytest.mark.django_db
MQTT = ("127.0.0.1", 1883)


def post(client, body, **headers):
    return client.post("/api/telemetry/readings", body, content_type="application/json", **headers)


def test_bulk_api_with_a_device_token(client, site):
    make_point(site)
    _token, secret = ApiToken.issue(name="网关", site=site, purpose="telemetry")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    readings = [{"point": "FAN-01.freq", "ts": recent(3000 - i).isoformat(), "v": 30 + i % 3} for i in range(3000)]
    readings.append({"point": "FAN-01.freq", "ts": recent(1).isoformat(), "v": "n/a"})
    response = post(client, {"readings": readings}, **auth)
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["duplicates"], body["rejected"]) == (3000, 0, 1)
    assert body["errors"] == [{"field": "readings.3000.v", "rule": "number", "message": body["errors"][0]["message"]}]
    again = post(client, {"readings": readings[:10]}, **auth).json()
    assert (again["stored"], again["duplicates"]) == (0, 10)
    assert Reading.objects.count() == 3000


def test_bulk_api_reads_nan_literals_and_bad_json_as_before(client, site):
    """Bodies are read with orjson; one it refuses (a device's NaN literal) goes to the standard
    library, so the reading is rejected on its own and the rest stored; broken JSON is a 400."""
    import gc

    make_point(site)
    _token, secret = ApiToken.issue(name="网关", site=site, purpose="telemetry")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = ('{"readings": [{"point": "FAN-01.freq", "ts": "%s", "v": NaN}, {"point": "FAN-01.freq", "ts": "%s", '
            '"v": 31.5}, %s]}' % (recent(2).isoformat(), recent(1).isoformat(), ", ".join(
                ['{"point": "FAN-01.freq", "ts": "%s", "v": 30}' % recent(10 + i).isoformat() for i in range(2000)])))
    assert len(body) > 64 * 1024  # read with the cycle collector paused
    result = post(client, body, **auth).json()
    assert (result["stored"], result["rejected"]) == (2001, 1) and result["errors"][0]["rule"] == "number"
    assert result["errors"][0]["field"] == "readings.0.v"
    assert gc.isenabled()
    broken = post(client, '{"readings": [', **auth)
    assert broken.status_code == 400


def test_device_token_needs_no_csrf_cookie(site):
    from django.test import Client

    make_point(site)
    _token, secret = ApiToken.issue(name="网关", site=site, purpose="telemetry")
    client = Client(enforce_csrf_checks=True)
    body = {"readings": [{"point": "FAN-01.freq", "ts": recent(1).isoformat(), "v": 30}]}
    assert post(client, body, HTTP_AUTHORIZATION=f"Bearer {secret}").json()["stored"] == 1
    assert post(client, body, HTTP_X_API_KEY=secret).json()["duplicates"] == 1
    assert post(client, body).status_code in (401, 403)


def test_token_of_another_purpose_or_site_is_refused(client, site, other_site):
    make_point(site)
    _t, camera = ApiToken.issue(name="camera", site=site, purpose="camera")
    response = post(client, {"readings": []}, HTTP_AUTHORIZATION=f"Bearer {camera}")
    assert response.status_code == 403 and response.json()["errors"][0]["rule"] == "permission"
    _t, other = ApiToken.issue(name="gw", site=other_site, purpose="telemetry")
    response = post(client, {"site": site.code, "readings": []}, HTTP_AUTHORIZATION=f"Bearer {other}")
    assert response.status_code == 403
    # the other site's token cannot write this site's points: the code is unknown there
    body = post(client, {"readings": [{"point": "FAN-01.freq", "ts": recent(1).isoformat(), "v": 1}]},
                HTTP_AUTHORIZATION=f"Bearer {other}").json()
    assert body["rejected"] == 1 and body["errors"][0]["rule"] == "unknown_point"


def test_session_upload_needs_the_permission_and_the_site(client, site, role_user):
    make_point(site)
    reading = {"point": "FAN-01.freq", "ts": recent(1).isoformat(), "v": 30}
    client.force_login(role_user("operator", site))
    assert post(client, {"site": site.code, "readings": [reading]}).status_code == 403
    client.force_login(role_user("carbon_manager", site, username="cm"))
    assert post(client, {"site": site.code, "readings": [reading]}).json()["stored"] == 1
    assert post(client, {"site": "other-site", "readings": [reading]}).status_code == 403


def test_unreadable_body_uses_the_error_format(client, site):
    _t, secret = ApiToken.issue(name="gw", site=site, purpose="telemetry")
    response = post(client, {"readings": "nope"}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "readings"


def test_series_api(client, site, role_user):
    point = make_point(site)
    from greenledger.telemetry import services
    services.ingest([(point, recent(m), 30.0) for m in range(30)], "http")
    client.force_login(role_user("auditor", site))
    body = client.get(f"/api/telemetry/points/{point.pk}/series").json()
    assert body["resolution"] == "raw" and len(body["data"]) == 30
    assert client.get("/api/telemetry/points").json()[0]["code"] == "FAN-01.freq"
    client.force_login(role_user("contractor", site, username="c"))
    assert client.get("/api/telemetry/points").status_code == 403


# MQTT -------------------------------------------------------------------------------------------


def publisher():
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gltest-pub-{uuid.uuid4().hex[:6]}")
    client.connect(*MQTT)
    client.loop_start()
    return client


def publish(client, topic, payload):
    client.publish(topic, payload if isinstance(payload, (str, bytes)) else json.dumps(payload), qos=1).wait_for_publish(5)


def test_mqtt_reading_published_twice_is_stored_once(site):
    service_or_skip(*MQTT, "Mosquitto")
    from greenledger.telemetry.mqtt import Worker

    point = make_point(site)
    prefix = f"gltest-{uuid.uuid4().hex[:8]}"
    worker = Worker(*MQTT, prefix=prefix, flush_ms=50).start()
    pub = publisher()
    try:
        topic = f"{prefix}/{site.code}/FAN-01.freq"
        message = {"ts": recent(5).isoformat(), "v": 30.1}
        publish(pub, topic, message)
        publish(pub, topic, message)
        publish(pub, topic, [{"ts": recent(4).isoformat(), "v": 30.2}, {"ts": recent(3).isoformat(), "v": 30.3}])
        publish(pub, f"{prefix}/{site.code}", {"readings": [{"point": "FAN-01.freq", "ts": recent(2).isoformat(),
                                                             "v": 30.4}]})
        publish(pub, topic, "not json")
        publish(pub, f"{prefix}/nowhere/X", "1")
        assert worker.drain(until=lambda: worker.received >= 6, timeout=15)
    finally:
        worker.stop()
        pub.loop_stop()
        pub.disconnect()
    assert list(Reading.objects.filter(point=point).order_by("ts").values_list("value", flat=True)) == [
        30.1, 30.2, 30.3, 30.4]
    assert worker.totals.duplicates == 1
    assert set(IntakeError.objects.values_list("rule", flat=True)) == {"payload", "unknown_site"}
    assert IntakeError.objects.get(rule="payload").payload == "not json"


def test_mqtt_shared_subscription_splits_the_load(site):
    service_or_skip(*MQTT, "Mosquitto")
    from greenledger.telemetry.mqtt import Worker

    point = make_point(site)
    prefix = f"gltest-{uuid.uuid4().hex[:8]}"
    group = f"g{uuid.uuid4().hex[:6]}"
    workers = [Worker(*MQTT, prefix=prefix, group=group, flush_ms=20).start() for _ in range(2)]
    pub = publisher()
    try:
        for i in range(60):
            publish(pub, f"{prefix}/{site.code}/FAN-01.freq", {"ts": recent(100 - i).isoformat(), "v": i})
        done = lambda: sum(w.received for w in workers) >= 60  # noqa: E731
        for _round in range(50):
            for w in workers:
                w.drain(until=done, timeout=0.1)
            if done():
                break
    finally:
        for w in workers:
            w.stop()
        pub.loop_stop()
        pub.disconnect()
    assert all(w.received > 0 for w in workers), [w.received for w in workers]
    assert sum(w.received for w in workers) == 60
    assert Reading.objects.filter(point=point).count() == 60
    assert sum(w.totals.duplicates for w in workers) == 0


# OPC UA -----------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_opcua_data_changes_are_stored_with_the_source_timestamp(site):
    from asyncua import ua
    from asyncua.sync import Server

    from greenledger.telemetry.opcua import Worker

    point = make_point(site, code="FAN-01.freq", opcua_node_id="ns=2;s=FAN-01.Frequency", source="opcua")
    temp = make_point(site, code="HR-01.temp", quantity="temperature", opcua_node_id="ns=2;s=HR-01.Temp",
                      source="opcua")
    port = free_port()
    server = Server()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/gl/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = server.register_namespace("urn:greenledger:test")
    assert ns == 2
    plc = server.nodes.objects.add_object(ua.NodeId("PLC", ns), "PLC")
    freq = plc.add_variable(ua.NodeId("FAN-01.Frequency", ns), "Frequency", 30.0)
    hot = plc.add_variable(ua.NodeId("HR-01.Temp", ns), "Temp", 120.0)
    server.start()
    worker = None
    try:
        worker = Worker(f"opc.tcp://127.0.0.1:{port}/gl/", site, period_ms=50).start()
        assert worker.drain(until=lambda: Reading.objects.count() >= 2, timeout=10)
        stamps = []
        for i, value in enumerate((49.5, 50.0)):
            ts = recent(10 - i)
            stamps.append(ts)
            freq.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double), SourceTimestamp=ts,
                                          ServerTimestamp=ts))
            assert worker.drain(until=lambda: Reading.objects.filter(point=point, value=value).exists(), timeout=10)
        hot.write_value(125.5)
        assert worker.drain(until=lambda: Reading.objects.filter(point=temp, value=125.5).exists(), timeout=10)
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
    stored = dict(Reading.objects.filter(point=point, value__in=[49.5, 50.0]).values_list("value", "ts"))
    assert stored == {49.5: stamps[0], 50.0: stamps[1]}
    assert Reading.objects.get(point=point, value=50.0).source == "opcua"
