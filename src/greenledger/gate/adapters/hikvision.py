"""Hikvision ISAPI ANPR push: ``EventNotificationAlert`` XML, alone or as ``anpr.xml`` in a multipart body.

Read: ``dateTime``, ``ANPR/licensePlate`` ("unknown"/"无车牌" when none), ``ANPR/confidenceLevel``,
``ANPR/plateColor``, the camera's ``ipAddress``/``channelID``, and the JPEG parts
``licensePlatePicture.jpg`` (plate) and ``detectionPicture.jpg`` (scene). Namespaces are ignored
(ver20 and isapi.org documents both occur). Event key: ``<dateTime>:<plate>`` — the push carries no
event id, and the camera never retries, so the key only guards against a proxy resending.

Reply: HTTP 200 with a short text, always (the camera ignores errors and never re-POSTs). The
barrier is opened by a separate ISAPI ``barrierGate`` command (``gate.barrier``).
"""

import email.parser
import email.policy
import xml.etree.ElementTree as ET
from datetime import datetime, timezone as dt_timezone

from ..codes import PlateColor
from ..validation import normalize_plate
from . import CameraPush, PushError

COLORS = {"blue": PlateColor.BLUE, "yellow": PlateColor.YELLOW, "white": PlateColor.WHITE,
          "black": PlateColor.BLACK, "green": PlateColor.GREEN, "yellowgreen": PlateColor.YELLOW_GREEN,
          "greenyellow": PlateColor.YELLOW_GREEN, "newenergy": PlateColor.GREEN}
NO_PLATE = {"", "UNKNOWN", "无车牌", "无牌", "车牌"}
IMAGE_PARTS = {"licenseplatepicture.jpg": "plate", "detectionpicture.jpg": "scene"}
MAX_XML = 1_000_000


def multipart_parts(body, content_type):
    """(name, filename, content type, bytes) of each part of a multipart body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    if not message.is_multipart():
        raise PushError("multipart body without parts (boundary missing?)")
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        filename = part.get_filename() or ""
        parts.append((str(name), str(filename), part.get_content_type(), part.get_payload(decode=True) or b""))
    return parts


def parse(body, content_type, camera=None):
    images = []
    if (content_type or "").lower().startswith("multipart/"):
        xml = None
        for name, filename, ctype, data in multipart_parts(body, content_type):
            label = (filename or name).lower()
            if label in IMAGE_PARTS:
                images.append((IMAGE_PARTS[label], data))
            elif xml is None and (label.endswith(".xml") or "xml" in ctype or data.lstrip().startswith(b"<")):
                xml = data
        if xml is None:
            raise PushError("multipart push without an XML part (anpr.xml)")
    else:
        xml = body
    return _alert(xml, images)


def _alert(xml, images):
    if len(xml) > MAX_XML or b"<!DOCTYPE" in xml[:2000] or b"<!ENTITY" in xml:
        raise PushError("XML too large or with a DTD")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise PushError(f"not XML: {exc}") from None
    _strip_namespaces(root)
    if root.tag != "EventNotificationAlert":
        raise PushError(f"root element is {root.tag}, not EventNotificationAlert")
    event_type = (root.findtext("eventType") or "").strip()
    stamp = (root.findtext("dateTime") or "").strip()
    if event_type.lower() == "heartbeat":
        return CameraPush(kind="heartbeat", event_key=f"heartbeat:{stamp[:13]}")
    if event_type.upper() != "ANPR" or root.find("ANPR") is None:
        raise PushError(f"event type {event_type or '?'} is not ANPR")
    occurred_at = _time(stamp)
    anpr = root.find("ANPR")
    raw_plate = (anpr.findtext("licensePlate") or "").strip()
    plate = "" if raw_plate.upper() in NO_PLATE else normalize_plate(raw_plate)
    color = COLORS.get((anpr.findtext("plateColor") or "").strip().lower().replace("_", ""), PlateColor.UNKNOWN)
    confidence = _int(anpr.findtext("confidenceLevel"))
    key = f"{occurred_at:%Y%m%dT%H%M%S}:{plate or 'none'}"
    return CameraPush(kind="plate", event_key=key, plate=plate, plate_color=color, occurred_at=occurred_at,
                      confidence=confidence, images=images)


def _strip_namespaces(root):
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]


def _time(text):
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PushError(f"dateTime {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:  # cameras without a zone send local (China) time
        from django.utils import timezone

        value = timezone.make_aware(value)
    return value.astimezone(dt_timezone.utc)


def _int(text):
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


def reply(outcome):
    if outcome.error:
        return 200, f"received; not understood: {outcome.error[:200]}".encode(), "text/plain; charset=utf-8"
    return 200, b"OK", "text/plain; charset=utf-8"
