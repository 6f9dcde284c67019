"""Camera intake end to end: stored once, decided, sealed, paired, replied in the camera's protocol."""

import json
import threading
from datetime import datetime, timedelta, timezone as dt_timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from greenledger.core.attachments import attachments_of
from greenledger.core.models import ApiToken, Notification
from greenledger.gate import services
from greenledger.gate.alerts import switch_alert
from greenledger.gate.management.commands.camera_sim import hikvision_payload, zhenshi_payload
from greenledger.gate.models import BarrierCommand, Camera, CameraEvent, ListEntry, Passage

from .factories import make_gate, make_vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate(site):
    return make_gate(site, grade="B")


@pytest.fixture
def token(site):
    return ApiToken.issue(name="门岗相机", site=site, purpose="camera")[1]


def push(client, camera, body, content_type, token):
    return client.post(f"/api/gate/cameras/{camera}/events?token={token}", body, content_type=content_type)


def zhenshi_answer(response):
    assert response.status_code == 200
    return json.loads(response.content)["Response_AlarmInfoPlate"]


def test_registered_truck_passes_with_snapshots_and_ledger_fields(client, site, gate, token):
    make_vehicle(site, "苏D12345", stage="5", vin="LZZ1CLVB8EW123456")
    body, ctype = zhenshi_payload("苏D12345", plate_id=1)
    answer = zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))
    assert answer["info"] == "ok" and answer["serialData"]
    passage = Passage.objects.get()
    assert (passage.decision, passage.final_decision, passage.direction, passage.stage) == ("pass", "pass", "in", "5")
    assert passage.ledger["vin"] == "LZZ1CLVB8EW123456" and passage.grade == "B" and passage.alert_level == "none"
    assert passage.barrier_opened is True and "苏D12345" in passage.display_text
    assert sorted(a.caption for a in attachments_of(passage)) == ["plate", "scene"]
    event = CameraEvent.objects.get()
    assert event.passage_id == passage.pk and bytes(event.body) == body and event.state == "parsed"
    assert Camera.objects.get(code="test-site-main-in").last_seen_at is not None


def test_china_iv_truck_is_blocked_in_orange_alert_and_passes_on_a_normal_day(client, site, gate, token):
    make_vehicle(site, "苏D40000", stage="4")
    body, ctype = zhenshi_payload("苏D40000", plate_id=1, images=False)
    assert zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))["info"] == "ok"
    switch_alert(site, "orange", reason="市应急指挥部启动橙色预警")
    body, ctype = zhenshi_payload("苏D40000", plate_id=2, images=False)
    assert zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))["info"] == "no"
    blocked = Passage.objects.get(decision="block")
    assert blocked.alert_level == "orange" and "国四" in blocked.reason or "IV" in blocked.reason


def test_a_push_is_decided_outside_any_request_transaction(client, site, gate, token, monkeypatch):
    """ATOMIC_REQUESTS would hold SQLite's write lock while the push is parsed and decided: the camera
    endpoint is exempt and writes in its own short transaction."""
    from django.db import connection

    from greenledger.gate import rules

    depth_here = len(connection.atomic_blocks)  # the test's own transaction
    seen = []
    decide = rules.decide
    monkeypatch.setattr(rules, "decide", lambda *a, **kw: seen.append(len(connection.atomic_blocks)) or decide(*a, **kw))
    make_vehicle(site, "苏D12345")
    body, ctype = zhenshi_payload("苏D12345", plate_id=3, images=False)
    assert zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))["info"] == "ok"
    assert seen == [depth_here] and Passage.objects.count() == 1


def test_snapshot_files_are_written_before_the_write_transaction(client, site, gate, token, monkeypatch):
    """The write transaction (SQLite's write lock) only inserts the snapshot rows: their files are
    checked and written before it opens, so the other workers wait less."""
    from django.core.files.storage import FileSystemStorage
    from django.db import connection

    depth_here = len(connection.atomic_blocks)
    depths = []
    save = FileSystemStorage.save
    monkeypatch.setattr(FileSystemStorage, "save", lambda self, *a, **kw: depths.append(
        len(connection.atomic_blocks)) or save(self, *a, **kw))
    make_vehicle(site, "苏D12345")
    body, ctype = zhenshi_payload("苏D12345", plate_id=4)
    assert zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))["info"] == "ok"
    assert depths == [depth_here, depth_here]
    snapshots = attachments_of(Passage.objects.get())
    assert sorted(a.caption for a in snapshots) == ["plate", "scene"]
    assert all(a.file.read()[:2] == b"\xff\xd8" for a in snapshots)  # the JPEGs as pushed


def test_repeated_push_is_stored_once_and_gets_the_same_reply(client, site, gate, token):
    make_vehicle(site, "苏D12345")
    body, ctype = zhenshi_payload("苏D12345", plate_id=9)
    first = push(client, "test-site-main-in", body, ctype, token)
    second = push(client, "test-site-main-in", body, ctype, token)
    assert first.content == second.content
    assert Passage.objects.count() == 1 and CameraEvent.objects.count() == 1


def test_concurrent_duplicate_returns_the_stored_reply(site, gate, token, monkeypatch):
    make_vehicle(site, "苏D12345")
    body, ctype = zhenshi_payload("苏D12345", plate_id=3, images=False)
    first = services.process_push("test-site-main-in", body, ctype, token=token)
    real = services._stored
    calls = []

    def racing(code, key):  # the other request had not committed when this one looked
        calls.append(key)
        return None if len(calls) == 1 else real(code, key)

    monkeypatch.setattr(services, "_stored", racing)
    second = services.process_push("test-site-main-in", body, ctype, token=token)
    assert second == first and len(calls) == 2 and Passage.objects.count() == 1


def test_offline_replay_is_recorded_but_never_opens_the_barrier(client, site, gate, token):
    make_vehicle(site, "苏D12345")
    body, ctype = zhenshi_payload("苏D12345", plate_id=41, offline=True, images=False,
                                  when=timezone.now() - timedelta(hours=3))
    answer = zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))
    assert answer["ContinuePushOffline"] == {"plateid": 41, "continue": 1} and answer["info"] != "ok"
    passage = Passage.objects.get()
    assert passage.decision == "pass" and passage.barrier_opened is False
    assert CameraEvent.objects.get().offline_replay


def test_exit_is_paired_with_the_open_entry(client, site, gate, token):
    make_vehicle(site, "苏D12345")
    entered = timezone.now() - timedelta(minutes=40)
    for plate_id, camera, when in [(1, "test-site-main-in", entered), (2, "test-site-main-out", timezone.now())]:
        body, ctype = zhenshi_payload("苏D12345", plate_id=plate_id, when=when, images=False)
        push(client, camera, body, ctype, token)
    entry, exit_ = Passage.objects.get(direction="in"), Passage.objects.get(direction="out")
    assert entry.paired_id == exit_.pk and exit_.paired_id == entry.pk
    assert entry.dwell_seconds == exit_.dwell_seconds and 2390 <= exit_.dwell_seconds <= 2410


def test_unregistered_and_blacklisted_vehicles(client, site, gate, token):
    ListEntry.objects.create(site=site, kind="black", plate="冀B7K2Q9", reason="超载", valid_from=timezone.now()
                             - timedelta(days=1))
    for plate_id, plate in enumerate(["鲁Q5M823", "冀B7K2Q9"]):
        body, ctype = zhenshi_payload(plate, plate_id=plate_id, images=False)
        assert zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))["info"] == "no"
    assert dict(Passage.objects.values_list("plate", "decision")) == {"鲁Q5M823": "manual", "冀B7K2Q9": "block"}


def test_unparseable_push_is_kept_raw_and_alarms_environmental_managers(client, site, gate, token, role_user):
    manager = role_user("environmental_manager", site)
    response = push(client, "test-site-main-in", b"\x00garbage", "application/json", token)
    assert response.status_code == 200 and "error" in zhenshi_answer(response)
    event = CameraEvent.objects.get()
    assert event.state == "failed" and bytes(event.body) == b"\x00garbage" and event.error
    assert Notification.objects.filter(recipient=manager).count() == 1
    push(client, "test-site-main-in", b"other garbage", "application/json", token)
    assert CameraEvent.objects.count() == 2 and Notification.objects.filter(recipient=manager).count() == 1
    assert Passage.objects.count() == 0


def test_unknown_camera_code_is_kept(client, site, gate, token):
    body, ctype = zhenshi_payload("苏D12345", images=False)
    response = push(client, "no-such-camera", body, ctype, token)
    assert response.status_code == 404 and response.json()["errors"][0]["rule"] == "not_found"
    event = CameraEvent.objects.get()
    assert (event.camera, event.camera_code, event.protocol, event.state) == (None, "no-such-camera", "zhenshi",
                                                                              "failed")


def test_camera_needs_a_camera_token_of_its_own_site(client, site, other_site, gate):
    body, ctype = zhenshi_payload("苏D12345", images=False)
    assert client.post("/api/gate/cameras/test-site-main-in/events", body, content_type=ctype).status_code == 401
    telemetry = ApiToken.issue(name="t", site=site, purpose="telemetry")[1]
    assert push(client, "test-site-main-in", body, ctype, telemetry).status_code == 401
    foreign = ApiToken.issue(name="c", site=other_site, purpose="camera")[1]
    assert push(client, "test-site-main-in", body, ctype, foreign).status_code == 403
    assert CameraEvent.objects.count() == 0
    own = ApiToken.issue(name="c", site=site, purpose="camera")[1]
    response = client.post("/api/gate/cameras/test-site-main-in/events", body, content_type=ctype,
                           HTTP_AUTHORIZATION=f"Bearer {own}")
    assert response.status_code == 200 and Passage.objects.count() == 1


class BarrierController(BaseHTTPRequestHandler):
    received = []

    def do_PUT(self):  # noqa: N802 - http.server's naming
        BarrierController.received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<ResponseStatus><statusCode>1</statusCode></ResponseStatus>")

    def log_message(self, *args):
        pass


@pytest.fixture
def controller():
    server = HTTPServer(("127.0.0.1", 0), BarrierController)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    BarrierController.received = []
    yield f"http://127.0.0.1:{server.server_port}/ISAPI/Parking/channels/1/barrierGate"
    server.shutdown()


def test_hikvision_push_stores_pictures_and_sends_the_barrier_command(client, site, token, controller):
    gate = make_gate(site, protocol="hikvision", code="east")
    lane = gate.lanes.get(direction="in")
    lane.barrier, lane.barrier_url, lane.barrier_username = "hikvision", controller, "admin"
    lane.save()
    make_vehicle(site, "苏D12345")
    body, ctype = hikvision_payload("苏D12345")
    response = push(client, "test-site-east-in", body, ctype, token)
    assert response.status_code == 200
    passage = Passage.objects.get()
    assert passage.decision == "pass" and passage.barrier_opened is True
    assert BarrierController.received == [("/ISAPI/Parking/channels/1/barrierGate",
                                           b"<BarrierGate><ctrlMode>open</ctrlMode></BarrierGate>")]
    assert BarrierCommand.objects.get().ok and len(attachments_of(passage)) == 2


def test_failed_barrier_command_is_logged_not_raised(client, site, token):
    gate = make_gate(site, protocol="hikvision", code="east")
    lane = gate.lanes.get(direction="in")
    lane.barrier, lane.barrier_url = "hikvision", "http://127.0.0.1:9/ISAPI/Parking/channels/1/barrierGate"
    lane.save()
    make_vehicle(site, "苏D12345")
    body, ctype = hikvision_payload("苏D12345", images=False)
    assert push(client, "test-site-east-in", body, ctype, token).status_code == 200
    command = BarrierCommand.objects.get()
    assert not command.ok and command.detail and Passage.objects.get().barrier_opened is False


def test_generic_push_replies_with_the_decision(client, site, token):
    make_gate(site, protocol="generic", code="west")
    make_vehicle(site, "苏D12345")
    payload = {"event_id": "gw-1", "plate": "苏D12345", "plate_color": "yellow",
               "ts": datetime.now(dt_timezone.utc).isoformat(), "confidence": 97}
    response = push(client, "test-site-west-in", json.dumps(payload), "application/json", token)
    data = response.json()
    assert response.status_code == 200 and data["decision"] == "pass" and data["open"] is True
    assert data["passage_id"] == str(Passage.objects.get().pk)
    bad = push(client, "test-site-west-in", json.dumps({"plate": "x"}), "application/json", token)
    assert bad.status_code == 422 and bad.json()["errors"][0]["message"] == "event_id is required"
    assert CameraEvent.objects.filter(state="failed").count() == 1


def test_low_confidence_read_goes_to_manual_check(client, site, gate, token):
    make_vehicle(site, "苏D12345")
    body, ctype = zhenshi_payload("苏D12345", confidence=40, images=False)
    assert zhenshi_answer(push(client, "test-site-main-in", body, ctype, token))["info"] == "no"
    assert Passage.objects.get().decision == "manual"


def test_record_passage_for_a_manual_entry_with_cargo(site, gate):
    make_vehicle(site, "苏D12345")
    lane = gate.lanes.get(direction="in")
    passage = services.record_passage(lane=lane, plate="苏d 12345", plate_color="yellow", occurred_at=timezone.now(),
                                      direction="in", cargo={"name": "石灰石", "weight_t": "31.5"},
                                      images=[("scene", b"\xff\xd8\xff\xe0 not much of a jpeg")])
    assert passage.plate == "苏D12345" and passage.cargo_name == "石灰石" and str(passage.cargo_weight_t) == "31.500"
    assert passage.barrier_opened is None and len(attachments_of(passage)) == 1


def test_heartbeat_marks_the_camera_alive_and_is_stored_once_an_hour(client, site, gate, token):
    body = b'{"heartbeat": {"serialno": "SN-main-in"}}'
    for _ in range(3):
        response = push(client, "test-site-main-in", body, "application/json", token)
        assert "Response_Heartbeat" in response.json()
    assert CameraEvent.objects.get().state == "heartbeat"
    assert Camera.objects.get(code="test-site-main-in").last_seen_at is not None
