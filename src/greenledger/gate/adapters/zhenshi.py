"""Zhenshi / Vzenith (臻识) IVS HTTP push: ``{"AlarmInfoPlate": {..., "result": {"PlateResult": {...}}}}``.

Read: ``license`` ("_无_" when no plate), ``colorType`` (codes.ZHENSHI_PLATE_COLOR), ``confidence``,
``timeStamp.Timeval.sec``, ``imageFile`` (scene) / ``imageFragmentFile`` (plate) in base64,
``plateid``, ``isoffline``, and the device ``serialno``. Event key: ``<serialno>:<plateid>``, which the
camera keeps when it replays an offline record, so a replay or a retry is stored once.
A heartbeat (form fields ``device_name``/``serialno``… or JSON ``{"heartbeat": …}``) keeps the camera
marked alive and is stored once per hour.

Reply (HTTP 200, JSON): ``{"Response_AlarmInfoPlate": {"info": "ok"}}`` fires the barrier relay,
anything else keeps it closed. ``serialData`` carries the LED/voice text as GB2312 bytes on RS-485
channel 0 (boards that need their vendor's framing want a converter there). ``content:
"retransfer_stop"`` tells newer models not to resend (gate.md §7.1, one integrator's report). An
offline replay is answered ``ContinuePushOffline {"plateid": N, "continue": 1}`` so the camera
sends the next stored record, and never opens the barrier for an old event.
"""

import base64
import binascii
import json
from datetime import datetime, timezone as dt_timezone
from urllib.parse import parse_qs

from ..codes import ZHENSHI_PLATE_COLOR, PlateColor
from ..validation import normalize_plate
from . import CameraPush, PushError

NO_PLATE = {"_无_", "无牌", "无车牌", "NONE", ""}
CONTENT_TYPE = "application/json"


def decode_text(body):
    for encoding in ("utf-8", "gb18030"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PushError("body is neither UTF-8 nor GB18030 text")


def parse(body, content_type, camera=None):
    if _is_form(content_type):
        return _heartbeat(_form_fields(body, content_type))
    try:
        data = json.loads(decode_text(body))
    except ValueError as exc:
        raise PushError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PushError("JSON body is not an object")
    if "heartbeat" in data or "Heartbeat" in data:
        return _heartbeat(data.get("heartbeat") or data.get("Heartbeat") or {})
    alarm = data.get("AlarmInfoPlate")
    if not isinstance(alarm, dict):
        raise PushError("no AlarmInfoPlate object")
    result = (alarm.get("result") or {}).get("PlateResult")
    if not isinstance(result, dict):
        raise PushError("no AlarmInfoPlate.result.PlateResult object")
    return _plate(alarm, result)


def _plate(alarm, result):
    license_text = str(result.get("license") or "").strip()
    plate = "" if license_text in NO_PLATE else normalize_plate(license_text)
    occurred_at = _time(result)
    plate_id = result.get("plateid")
    serial = str(alarm.get("serialno") or alarm.get("deviceName") or "")
    if plate_id not in (None, ""):
        key = f"{serial}:{plate_id}"
    else:
        key = f"{serial}:{occurred_at:%Y%m%d%H%M%S}:{plate or 'none'}"
    try:
        color = ZHENSHI_PLATE_COLOR.get(int(result.get("colorType", 0)), PlateColor.UNKNOWN)
        confidence = int(result["confidence"]) if result.get("confidence") not in (None, "") else None
    except (TypeError, ValueError):
        raise PushError("colorType or confidence is not a number") from None
    images = []
    for field, caption in (("imageFragmentFile", "plate"), ("imageFile", "scene")):
        if result.get(field):
            images.append((caption, _b64(result[field], field)))
    return CameraPush(
        kind="plate", event_key=key[:120], plate=plate, plate_color=color, occurred_at=occurred_at,
        confidence=confidence, offline=str(result.get("isoffline", "0")) == "1", images=images,
        reply_token={"plateid": plate_id},
    )


def _time(result):
    try:
        seconds = int(result["timeStamp"]["Timeval"]["sec"])
    except (KeyError, TypeError, ValueError):
        raise PushError("no timeStamp.Timeval.sec") from None
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc)


def _b64(text, field):
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise PushError(f"{field} is not base64") from None


def _heartbeat(fields):
    serial = str(fields.get("serialno") or fields.get("device_name") or "camera")
    hour = datetime.now(dt_timezone.utc).strftime("%Y%m%d%H")
    return CameraPush(kind="heartbeat", event_key=f"heartbeat:{serial}:{hour}"[:120])


def _is_form(content_type):
    content_type = (content_type or "").lower()
    return content_type.startswith("multipart/form-data") or content_type.startswith(
        "application/x-www-form-urlencoded")


def _form_fields(body, content_type):
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(decode_text(body)).items()}
    from .hikvision import multipart_parts

    return {name: data.decode("utf-8", "replace") for name, _filename, _ctype, data in
            multipart_parts(body, content_type)}


def reply(outcome):
    push = outcome.push
    if push is not None and push.kind == "heartbeat":
        return 200, json.dumps({"Response_Heartbeat": {"info": "no"}}).encode(), CONTENT_TYPE
    if outcome.error or push is None:
        answer = {"info": "no", "content": "retransfer_stop", "error": outcome.error[:200]}
    elif push.offline:
        answer = {"info": "no", "ContinuePushOffline": {"plateid": push.reply_token.get("plateid"), "continue": 1}}
    else:
        answer = {"info": "ok" if outcome.open_barrier else "no", "content": "retransfer_stop"}
        if outcome.display:
            data = outcome.display.encode("gb18030")
            answer["serialData"] = [{"serialChannel": 0, "data": base64.b64encode(data).decode(),
                                     "dataLen": len(data)}]
    return 200, json.dumps({"Response_AlarmInfoPlate": answer}, ensure_ascii=False).encode(), CONTENT_TYPE
