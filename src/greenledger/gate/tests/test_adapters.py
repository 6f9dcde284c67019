"""Each camera adapter's parsing and reply, without the database."""

import base64
import json
from datetime import datetime, timezone as dt_timezone

import pytest

from greenledger.gate.adapters import CameraPush, Outcome, PushError, generic, guess_protocol, hikvision, zhenshi
from greenledger.gate.management.commands.camera_sim import hikvision_payload, zhenshi_payload

WHEN = datetime(2026, 5, 1, 0, 30, tzinfo=dt_timezone.utc)


def test_zhenshi_push_gives_plate_colour_time_confidence_images_and_key():
    body, ctype = zhenshi_payload("苏D12345", plate_color="yellow_green", when=WHEN, plate_id=77, serial="SN9")
    push = zhenshi.parse(body, ctype)
    assert (push.plate, push.plate_color, push.occurred_at, push.confidence) == ("苏D12345", "yellow_green", WHEN, 96)
    assert push.event_key == "SN9:77" and not push.offline
    assert [caption for caption, _data in push.images] == ["plate", "scene"]
    assert all(data[:3] == b"\xff\xd8\xff" for _c, data in push.images)


def test_zhenshi_no_plate_and_offline_flag():
    body, ctype = zhenshi_payload("", when=WHEN, offline=True, images=False)
    push = zhenshi.parse(body, ctype)
    assert push.plate == "" and push.offline and push.images == []


def test_zhenshi_gb18030_body_is_read():
    body, ctype = zhenshi_payload("粤Z9065澳", when=WHEN, images=False)
    push = zhenshi.parse(body.decode("utf-8").encode("gb18030"), ctype)
    assert push.plate == "粤Z9065澳"


@pytest.mark.parametrize("body, message", [
    (b"not json", "not JSON"), (b"[]", "not an object"), (b"{}", "AlarmInfoPlate"),
    (b'{"AlarmInfoPlate": {"result": {"PlateResult": {"license": "x"}}}}', "timeStamp"),
])
def test_zhenshi_unreadable_pushes_say_why(body, message):
    with pytest.raises(PushError, match=message):
        zhenshi.parse(body, "application/json")


def test_zhenshi_heartbeat_form_is_a_heartbeat():
    body = (b'--b\r\nContent-Disposition: form-data; name="serialno"\r\n\r\nSN9\r\n'
            b'--b\r\nContent-Disposition: form-data; name="device_name"\r\n\r\nIVS\r\n--b--\r\n')
    push = zhenshi.parse(body, "multipart/form-data; boundary=b")
    assert push.kind == "heartbeat" and push.event_key.startswith("heartbeat:SN9:")
    status, reply, _ctype = zhenshi.reply(Outcome(push))
    assert status == 200 and "Response_Heartbeat" in json.loads(reply)


def test_zhenshi_reply_opens_only_with_info_ok_and_carries_the_display_text():
    push = CameraPush(kind="plate", event_key="k", reply_token={"plateid": 5})
    status, reply, _ctype = zhenshi.reply(Outcome(push, decision="pass", display="苏D12345 国五 请通行",
                                                  open_barrier=True))
    answer = json.loads(reply)["Response_AlarmInfoPlate"]
    assert status == 200 and answer["info"] == "ok"
    assert base64.b64decode(answer["serialData"][0]["data"]).decode("gb18030") == "苏D12345 国五 请通行"
    _s, reply, _c = zhenshi.reply(Outcome(push, decision="block", display="x", open_barrier=False))
    assert json.loads(reply)["Response_AlarmInfoPlate"]["info"] != "ok"


def test_zhenshi_offline_replay_reply_asks_for_the_next_record_and_keeps_the_barrier_shut():
    push = CameraPush(kind="plate", event_key="k", offline=True, reply_token={"plateid": 5})
    _s, reply, _c = zhenshi.reply(Outcome(push, decision="pass", open_barrier=False))
    answer = json.loads(reply)["Response_AlarmInfoPlate"]
    assert answer["ContinuePushOffline"] == {"plateid": 5, "continue": 1} and answer["info"] != "ok"


def test_hikvision_multipart_gives_plate_time_colour_and_both_pictures():
    body, ctype = hikvision_payload("鲁Q5M823", plate_color="blue", when=WHEN, confidence=88)
    push = hikvision.parse(body, ctype)
    assert (push.plate, push.plate_color, push.confidence, push.occurred_at) == ("鲁Q5M823", "blue", 88, WHEN)
    assert sorted(caption for caption, _d in push.images) == ["plate", "scene"]
    assert push.event_key == "20260501T003000:鲁Q5M823"


def test_hikvision_bare_xml_body_and_local_time_without_zone():
    xml = ("<EventNotificationAlert><dateTime>2026-05-01T08:30:00</dateTime><eventType>ANPR</eventType>"
           "<ANPR><licensePlate>无车牌</licensePlate><plateColor>yellow</plateColor></ANPR>"
           "</EventNotificationAlert>").encode()
    push = hikvision.parse(xml, "application/xml")
    assert push.plate == "" and push.occurred_at == WHEN and push.images == []


@pytest.mark.parametrize("body, message", [
    (b"<oops", "not XML"), (b"<Other/>", "EventNotificationAlert"),
    (b"<EventNotificationAlert><eventType>videoloss</eventType></EventNotificationAlert>", "not ANPR"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><EventNotificationAlert/>', "DTD"),
])
def test_hikvision_unreadable_pushes_say_why(body, message):
    with pytest.raises(PushError, match=message):
        hikvision.parse(body, "application/xml")


def test_hikvision_always_gets_200_even_when_not_understood():
    status, reply, _c = hikvision.reply(Outcome(None, error="not XML"))
    assert status == 200 and b"not XML" in reply


def test_generic_json_round_trip():
    image = base64.b64encode(b"\xff\xd8\xff\xe0data").decode()
    body = json.dumps({"event_id": "e1", "plate": "苏 d12345", "plate_color": "yellow", "ts": "2026-05-01T08:30:00+08:00",
                       "direction": "out", "confidence": 90, "images": [{"kind": "scene", "data": image}]}).encode()
    push = generic.parse(body, "application/json")
    assert (push.event_key, push.plate, push.direction, push.occurred_at) == ("e1", "苏D12345", "out", WHEN)
    status, reply, _c = generic.reply(Outcome(push, decision="pass", reason="r", display="d", passage_id="p",
                                              open_barrier=True))
    assert status == 200 and json.loads(reply) == {"decision": "pass", "reason": "r", "display": "d",
                                                   "passage_id": "p", "open": True}


@pytest.mark.parametrize("payload, message", [
    ({"plate": "x", "ts": 1}, "event_id"), ({"event_id": "e", "ts": "2026-05-01T08:30:00"}, "time zone"),
    ({"event_id": "e", "ts": 1, "plate_color": "pink"}, "plate_color"),
    ({"event_id": "e", "ts": 1, "images": [{"kind": "plate", "data": "%%%"}]}, "base64"),
])
def test_generic_errors_name_the_field(payload, message):
    with pytest.raises(PushError, match=message):
        generic.parse(json.dumps(payload).encode(), "application/json")


def test_generic_error_reply_uses_the_api_error_format():
    status, reply, _c = generic.reply(Outcome(None, error="event_id is required"))
    assert status == 422 and json.loads(reply)["errors"][0]["rule"] == "unparseable"


def test_protocol_of_an_unknown_camera_is_guessed_from_the_body():
    assert guess_protocol(zhenshi_payload("苏D1", images=False)[0], "application/json") == "zhenshi"
    assert guess_protocol(b"<EventNotificationAlert/>", "application/xml") == "hikvision"
    assert guess_protocol(b'{"event_id": 1}', "application/json") == "generic"
