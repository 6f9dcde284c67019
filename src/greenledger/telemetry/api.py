"""Telemetry API (mounted at /api/telemetry/): bulk readings in, points and series out.

``POST /readings`` takes thousands of readings per request::

    {"site": "changzhou-cell",            # optional with a device token (the token's site)
     "readings": [{"point": "FAN-01.freq", "ts": "2026-05-01T08:00:00+08:00", "v": 30.1}, ...]}

and answers 200 with the counts and one entry per reading it could not store, in the project's
error format (``field`` is ``readings.<index>.<point|ts|v>``)::

    {"stored": 998, "duplicates": 0, "rejected": 2, "flagged": 1,
     "errors": [{"field": "readings.17.v", "rule": "number", "message": "…"}]}

Sending the same readings again stores nothing twice (``duplicates`` counts them). Rejected
readings are kept raw as intake errors. Devices use a token with purpose ``telemetry``; people
need the ``telemetry.upload_readings`` permission.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from greenledger.core import permissions

from . import services
from .models import MeasuringPoint

router = Router(tags=["telemetry"])
DEVICE = ("telemetry",)


class BearerToken(HttpBearer):
    """The project's device token (greenledger.api.TokenAuth), tried *before* the session.

    Ninja runs the auth classes in order and the session check (django_auth) fails a POST without
    a CSRF cookie outright, so a gateway posting with a bearer token would get 403 if the session
    came first.
    """

    def authenticate(self, request, token):
        from greenledger.api import TokenAuth

        return TokenAuth().authenticate(request, token)


class HeaderToken(APIKeyHeader):
    param_name = "X-Api-Key"

    def authenticate(self, request, key):
        from greenledger.api import TokenAuth

        return TokenAuth().authenticate(request, key)


DEVICE_FIRST = [BearerToken(), HeaderToken(), django_auth]


class ReadingsIn(Schema):
    site: str | None = None
    readings: list[dict]


class IntakeOut(Schema):
    stored: int
    duplicates: int
    rejected: int
    flagged: int
    errors: list[dict]


class PointOut(Schema):
    id: int
    site: str
    code: str
    name: str
    quantity: str
    unit: str
    cumulative: bool
    generation: bool
    expected_interval_seconds: int
    valid_min: float | None
    valid_max: float | None
    source: str
    opcua_node_id: str
    equipment: str | None
    workshop: str | None
    active: bool


class SeriesOut(Schema):
    point: str
    unit: str
    resolution: str
    cumulative: bool
    data: list[tuple[datetime.datetime, float | None]]


def points_for(request):
    return permissions.scope_queryset(request, MeasuringPoint.objects.select_related("site", "equipment",
                                                                                      "workshop"))


def target_site(request, code):
    sites = permissions.scope_sites(request)
    if permissions.token_of(request) is not None:
        site = sites.first()
        if code and site.code != code:
            raise PermissionDenied("token of another site")
        return site
    if code:
        site = sites.filter(code=code).first()
        if site is None:
            raise PermissionDenied("site outside your scope")
        return site
    if sites.count() == 1:
        return sites.first()
    raise ValidationError({"site": ValidationError(_("Name the site (its code)."), code="required")})


@router.post("/readings", response=IntakeOut, auth=DEVICE_FIRST)
def post_readings(request, payload: ReadingsIn):
    """Store a batch of readings (idempotent on point and timestamp)."""
    permissions.require(request, "telemetry.upload_readings", purposes=DEVICE)
    site = target_site(request, payload.site)
    result = services.ingest(payload.readings, "http", site=site)
    errors = [{"field": f"readings.{e['index']}" + (f".{e['field']}" if e["field"] else ""), "rule": e["rule"],
               "message": e["message"]} for e in result.errors]
    return {**result.as_dict(), "errors": errors}


def point_out(p):
    return PointOut(
        id=p.pk, site=p.site.code, code=p.code, name=p.name, quantity=p.quantity, unit=p.unit, cumulative=p.cumulative,
        generation=p.generation, expected_interval_seconds=p.expected_interval_seconds, valid_min=p.valid_min,
        valid_max=p.valid_max, source=p.source, opcua_node_id=p.opcua_node_id,
        equipment=p.equipment.code if p.equipment_id else None, workshop=p.workshop.code if p.workshop_id else None,
        active=p.active)


@router.get("/points", response=list[PointOut])
def list_points(request, site: str | None = None, quantity: str | None = None):
    permissions.require(request, "telemetry.view_measuringpoint", purposes=DEVICE + ("integration",))
    points = points_for(request)
    if site:
        points = points.filter(site__code=site)
    if quantity:
        points = points.filter(quantity=quantity)
    return [point_out(p) for p in points]


@router.get("/points/{point_id}/series", response=SeriesOut)
def point_series(request, point_id: int, start: datetime.datetime | None = None, end: datetime.datetime | None = None,
                 resolution: str = "auto"):
    """The point's values per bucket (``raw``, ``15m``, ``hour``, ``day`` or ``auto``)."""
    permissions.require(request, "telemetry.view_measuringpoint", purposes=("integration",))
    point = get_object_or_404(points_for(request), pk=point_id)
    end = end or timezone.now()
    start = start or end - datetime.timedelta(days=1)
    if resolution not in ("auto", "raw", *services.RESOLUTIONS):
        raise ValidationError({"resolution": ValidationError(_("Choose raw, 15m, hour, day or auto."),
                                                             code="choice")})
    chosen = services.choose_resolution(start, end) if resolution == "auto" else resolution
    return SeriesOut(point=point.code, unit=point.unit, resolution=chosen, cumulative=point.cumulative,
                     data=services.series(point, start, end, chosen))
