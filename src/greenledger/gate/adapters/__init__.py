"""Camera push adapters: each turns one vendor's HTTP push into a :class:`CameraPush` and builds its reply.

An adapter module offers ``parse(body: bytes, content_type: str, camera) -> CameraPush`` (raising
:class:`PushError` for anything it cannot read) and ``reply(outcome) -> (status, body, content_type)``.
The adapters know the wire formats only; deciding and storing is ``gate.services``' job.

Protocols (``../shared/domain/gate.md`` §7): ``zhenshi`` (臻识 IVS JSON), ``hikvision`` (ISAPI ANPR,
multipart XML + JPEGs or a bare XML body), ``generic`` (GreenLedger's own JSON, see ``generic.py``).
"""

from dataclasses import dataclass, field
from datetime import datetime


class PushError(Exception):
    """The push could not be read; ``str(exc)`` says why (kept with the raw body)."""


@dataclass
class CameraPush:
    """One parsed push: a plate read (``kind="plate"``) or a heartbeat."""

    kind: str
    event_key: str
    plate: str = ""
    plate_color: str = "unknown"
    occurred_at: datetime | None = None
    confidence: int | None = None
    direction: str = ""          # only the generic format may state it; otherwise the lane's
    offline: bool = False        # a replay of a record the camera stored while the server was away
    images: list = field(default_factory=list)  # (caption, bytes): "plate" / "scene"
    reply_token: dict = field(default_factory=dict)  # what the reply must echo (Zhenshi plateid)


@dataclass
class Outcome:
    """What the reply to the camera is built from."""

    push: CameraPush | None
    decision: str = ""
    reason: str = ""
    display: str = ""
    passage_id: str = ""
    open_barrier: bool = False
    error: str = ""


def adapter_for(protocol):
    from . import generic, hikvision, zhenshi

    return {"zhenshi": zhenshi, "hikvision": hikvision, "generic": generic}[protocol]


def guess_protocol(body, content_type):
    """The protocol of a push to an unknown camera code, for the raw record only."""
    head = body[:400].lstrip()
    if b"AlarmInfoPlate" in head or b"heartbeat" in head.lower():
        return "zhenshi"
    if b"EventNotificationAlert" in body[:4000] or "xml" in (content_type or "") or "multipart" in (content_type or ""):
        return "hikvision"
    return "generic"
