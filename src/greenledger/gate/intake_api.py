"""Gate API, intake part (mounted at /api/gate/): camera pushes and alert levels.

``POST /api/gate/cameras/<camera-code>/events`` — a camera's push in its own protocol (Zhenshi
JSON, Hikvision multipart/XML, or the generic JSON documented in ``gate/adapters/generic.py``);
the reply is in the same protocol. Cameras cannot send headers, so the camera token may be given
as ``?token=glt_…`` in the push URL (``Authorization: Bearer`` and ``X-Api-Key`` work as well).
The camera gets its decision before the push is written: the decided push is put in the
write-ahead spool (``greenledger.core.spool``), the reply goes out, and the event, the sealed
passage and the snapshots are written right after (a few milliseconds; a worker that dies in
between leaves its spool to the next one).

``POST /api/gate/alerts`` — switch a site's alert level: the environmental manager's session
(permission ``gate.add_alertperiod``) or a regulator platform's token (purpose "regulator").
Levels as codes, colours (黄色/橙色/红色) or response levels (III/II/I级). A regulator's
instruction is stored once per ``regulator_ref``; the reply acknowledges with the period's id.
``GET /api/gate/alerts/current?site=<code>`` — the level in force now.
``GET /api/gate/ping`` — answers ``{"ok": true}`` without touching the database (liveness, and the
benchmark's baseline).
"""

import os
from datetime import datetime

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema, Status

from greenledger.core import permissions

from . import alerts
from .models import AlertPeriod, AlertSource
from .services import PUSH_SPOOL, accept_push

router = Router(tags=["gate"])

ALERT_READERS = ("camera", "regulator", "integration")


@router.post("/cameras/{code}/events", auth=None, include_in_schema=True, url_name="gate_camera_event",
             summary="Camera push (Zhenshi / Hikvision / generic JSON); token as ?token= or header")
def camera_event(request, code: str):
    # not wrapped in the request's transaction (greenledger.api.NON_ATOMIC_URL_NAMES): the push is
    # written in its own short atomic blocks. The camera gets its decision first: the decided push
    # goes to the spool, the reply goes out, and the response's close() — which the WSGI server
    # calls once the reply is sent — writes the event, the sealed passage and the snapshots.
    status, body, content_type, pending = accept_push(code, request.body, request.META.get("CONTENT_TYPE", ""),
                                                      token=_token_in(request))
    if pending is None:
        return HttpResponse(body, status=status, content_type=content_type)
    PUSH_SPOOL.append(pending.record(), pending)
    return ReplyThenWrite(body, status=status, content_type=content_type)


class ReplyThenWrite(HttpResponse):
    """A reply whose push is written when the server closes it, after sending it."""

    def close(self):
        try:
            # the kernel woke the camera's connection on this CPU when the reply was sent: let it run
            # before the write takes the CPU for a few milliseconds
            os.sched_yield()
            PUSH_SPOOL.apply_pending()  # logs what fails and keeps it for the next try
        finally:
            super().close()


def _token_in(request):
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-Api-Key") or request.GET.get("token") or None


@router.get("/ping", auth=None, url_name="gate_ping", summary="Liveness: no database, no authentication (benchmark baseline)")
def ping(request):
    return {"ok": True}


class AlertIn(Schema):
    site: str | None = None
    level: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    reason: str
    measures_text: str = ""
    regulator_ref: str = ""


class AlertOut(Schema):
    id: str
    site: str
    level: str
    level_label: str
    starts_at: datetime | None
    ends_at: datetime | None
    source: str
    reason: str
    measures_text: str
    regulator_ref: str
    recorded_at: datetime | None


def alert_out(period, site):
    if period is None:
        return AlertOut(id="", site=site.code, level="none", level_label=str(alerts.AlertLevel.NONE.label),
                        starts_at=None, ends_at=None, source="", reason="", measures_text="", regulator_ref="",
                        recorded_at=None)
    return AlertOut(id=str(period.pk), site=site.code, level=period.level, level_label=period.get_level_display(),
                    starts_at=period.starts_at, ends_at=period.ends_at, source=period.source, reason=period.reason,
                    measures_text=period.measures_text, regulator_ref=period.regulator_ref,
                    recorded_at=period.recorded_at)


def _site(request, code):
    sites = permissions.scope_sites(request)
    if code:
        return get_object_or_404(sites, code=code)
    token = permissions.token_of(request)
    if token is not None:
        return token.site
    only = list(sites[:2])
    if len(only) != 1:
        from django.core.exceptions import ValidationError

        raise ValidationError({"site": "Name the site (its code)."}, code="required")
    return only[0]


@router.post("/alerts", response={200: AlertOut, 201: AlertOut})
def switch_alert(request, payload: AlertIn):
    permissions.require(request, "gate.add_alertperiod", purposes=("regulator",))
    site = _site(request, payload.site)
    token = permissions.token_of(request)
    source = AlertSource.REGULATOR if token is not None else AlertSource.MANUAL
    if payload.regulator_ref:
        known = AlertPeriod.objects.filter(site=site, regulator_ref=payload.regulator_ref).first()
        if known is not None:
            return Status(200, alert_out(known, site))
    period = alerts.switch_alert(
        site, payload.level, starts_at=payload.starts_at, ends_at=payload.ends_at, reason=payload.reason,
        measures_text=payload.measures_text, source=source, user=request.user if token is None else None,
        regulator_ref=payload.regulator_ref)
    return Status(201, alert_out(period, site))


@router.get("/alerts/current", response=AlertOut)
def current_alert(request, site: str | None = None):
    permissions.require(request, "gate.view_alertperiod", purposes=ALERT_READERS)
    found = _site(request, site)
    return alert_out(alerts.period_at(found, timezone.now()), found)
