"""GreenLedger's generic camera JSON, for cameras and gateways without a vendor adapter.

``POST /api/gate/cameras/<camera-code>/events`` with ``Content-Type: application/json``::

    {"event_id": "cam7-000123",            # required, unique per camera; a resend is stored once
     "plate": "苏D12345",                  # "" when no plate was read
     "plate_color": "yellow",              # blue|yellow|white|black|green|yellow_green|unknown
     "ts": "2026-05-01T08:00:00+08:00",    # ISO 8601 capture time (or Unix seconds)
     "direction": "in",                    # optional: in|out; default the lane's direction
     "confidence": 95,                     # optional, 0–100
     "offline": false,                     # optional: true for a record replayed after an outage
     "images": [{"kind": "plate", "data": "<base64 JPEG>"}, {"kind": "scene", "data": "…"}]}

Reply (HTTP 200): ``{"decision", "reason", "display", "passage_id", "open"}``; ``open`` tells the
gateway to fire the barrier. An unreadable body gets HTTP 422 in the API's error format
``{"errors": [{"field", "rule", "message"}]}`` — the body is kept raw all the same.
"""

import base64
import binascii
import json
from datetime import datetime, timezone as dt_timezone

from ..codes import Direction, PlateColor
from ..validation import normalize_plate
from . import CameraPush, PushError

CONTENT_TYPE = "application/json"


def parse(body, content_type, camera=None):
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PushError(f"not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PushError("JSON body is not an object")
    event_id = str(data.get("event_id") or "").strip()
    if not event_id:
        raise PushError("event_id is required")
    color = str(data.get("plate_color") or "unknown")
    if color not in PlateColor.values:
        raise PushError(f"plate_color {color!r} is not one of {', '.join(PlateColor.values)}")
    direction = str(data.get("direction") or "")
    if direction and direction not in Direction.values:
        raise PushError("direction must be in or out")
    confidence = data.get("confidence")
    if confidence is not None and (not isinstance(confidence, (int, float)) or not 0 <= confidence <= 100):
        raise PushError("confidence must be a number from 0 to 100")
    return CameraPush(
        kind="plate", event_key=event_id[:120], plate=normalize_plate(str(data.get("plate") or "")),
        plate_color=color, occurred_at=_time(data.get("ts")), direction=direction,
        confidence=int(confidence) if confidence is not None else None, offline=bool(data.get("offline")),
        images=_images(data.get("images") or []),
    )


def _time(value):
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=dt_timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PushError(f"ts {value!r} is not an ISO 8601 time or Unix seconds") from None
    if parsed.tzinfo is None:
        raise PushError("ts needs a time zone offset, e.g. +08:00")
    return parsed


def _images(items):
    images = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("kind") not in ("plate", "scene"):
            raise PushError(f"images[{i}].kind must be plate or scene")
        try:
            images.append((item["kind"], base64.b64decode(item.get("data") or "", validate=True)))
        except (binascii.Error, ValueError):
            raise PushError(f"images[{i}].data is not base64") from None
    return images


def reply(outcome):
    if outcome.error:
        body = {"errors": [{"field": "", "rule": "unparseable", "message": outcome.error[:300]}]}
        return 422, json.dumps(body, ensure_ascii=False).encode(), CONTENT_TYPE
    body = {"decision": outcome.decision, "reason": outcome.reason, "display": outcome.display,
            "passage_id": outcome.passage_id, "open": outcome.open_barrier}
    return 200, json.dumps(body, ensure_ascii=False).encode(), CONTENT_TYPE
