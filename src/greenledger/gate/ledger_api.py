"""Gate API: ledger part (mounted by gate/api.py at /api/gate/).

- ``GET /passages`` — the passage ledger with the page's filters (``start``/``end`` to the minute,
  ``plate``, ``gate``, ``direction``, ``decision``, ``final_decision``, ``stage``, ``carrier``…);
- ``GET /passages/{id}`` — one passage with its ledger fields and guard actions;
- ``POST /passages/{id}/release`` · ``/block`` (``{"reason": …}``, required) · ``/cargo``
  (``{"cargo_name": …, "cargo_weight_t": …}``) — a guard's actions, each sealed.
"""

import datetime
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from greenledger.core import permissions

from . import actions
from .ledger_forms import PassageFilterSet
from .models import Passage

router = Router(tags=["gate"])
MAX_LIMIT = 1000
READ_PURPOSES = ("integration",)  # e.g. an ERP/WMS reading the site's passages


class ActionOut(Schema):
    id: uuid.UUID
    kind: str
    reason: str
    cargo_name: str
    cargo_weight_t: Decimal | None
    actor: str
    occurred_at: datetime.datetime
    recorded_at: datetime.datetime


class PassageOut(Schema):
    id: uuid.UUID
    site: str
    gate: str
    lane: str
    direction: str
    occurred_at: datetime.datetime
    recorded_at: datetime.datetime
    plate: str
    plate_color: str
    confidence: int | None
    vehicle_kind: str
    vehicle_class: str
    fuel: str
    stage: str
    carrier_name: str
    ledger: dict
    alert_level: str
    grade: str
    decision: str
    reason: str
    rule_ref: str
    display_text: str
    final_decision: str
    handled_by: str | None
    paired_id: uuid.UUID | None
    dwell_seconds: int | None
    cargo_name: str
    cargo_weight_t: Decimal | None
    barrier_opened: bool | None


class ReasonIn(Schema):
    reason: str = ""


class CargoIn(Schema):
    cargo_name: str = ""
    cargo_weight_t: Decimal | str | None = None


def passage_out(p, operators=None):
    operators = operators or {}
    return PassageOut(
        id=p.pk, site=p.site.code, gate=p.gate.code, lane=p.lane.code, direction=p.direction,
        occurred_at=p.occurred_at, recorded_at=p.recorded_at, plate=p.plate, plate_color=p.plate_color,
        confidence=p.confidence, vehicle_kind=p.vehicle_kind, vehicle_class=p.vehicle_class, fuel=p.fuel,
        stage=p.stage, carrier_name=p.carrier_name, ledger=p.ledger or {}, alert_level=p.alert_level,
        grade=p.grade, decision=p.decision, reason=p.reason, rule_ref=p.rule_ref, display_text=p.display_text,
        final_decision=p.final_decision, handled_by=operators.get(p.handled_by_id), paired_id=p.paired_id,
        dwell_seconds=p.dwell_seconds, cargo_name=p.cargo_name, cargo_weight_t=p.cargo_weight_t,
        barrier_opened=p.barrier_opened,
    )


def action_out(a):
    return ActionOut(id=a.pk, kind=a.kind, reason=a.reason, cargo_name=a.cargo_name,
                     cargo_weight_t=a.cargo_weight_t, actor=a.actor.get_username(), occurred_at=a.occurred_at,
                     recorded_at=a.recorded_at)


def passages_for(request):
    return permissions.scope_queryset(request, Passage.objects.select_related("site", "gate", "lane"))


def operators_of(passages):
    from django.contrib.auth import get_user_model

    ids = {p.handled_by_id for p in passages if p.handled_by_id}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}


@router.get("/passages", response=list[PassageOut])
def list_passages(request, limit: int = 100, offset: int = 0):
    """Passages in scope, newest first, filtered like the ledger page (422 names a filter it cannot read)."""
    permissions.require(request, "gate.view_passage", purposes=READ_PURPOSES)
    filterset = PassageFilterSet(request.GET, queryset=passages_for(request))
    if not filterset.is_valid():
        raise ValidationError({name: errors for name, errors in filterset.errors.items()})
    limit = max(1, min(limit, MAX_LIMIT))
    rows = list(filterset.qs.order_by("-occurred_at", "-pk")[offset:offset + limit])
    operators = operators_of(rows)
    return [passage_out(p, operators) for p in rows]


@router.get("/passages/{passage_id}", response=dict)
def get_passage(request, passage_id: uuid.UUID):
    permissions.require(request, "gate.view_passage", purposes=READ_PURPOSES)
    passage = get_object_or_404(passages_for(request), pk=passage_id)
    return {**passage_out(passage, operators_of([passage])).model_dump(mode="json"),
            "actions": [action_out(a).model_dump(mode="json")
                        for a in passage.actions.select_related("actor").order_by("occurred_at")]}


def acted_on(request, passage_id, perm=actions.RELEASE_PERMISSION):
    """The passage in scope; a device token may not act (an action needs a person who answers for it)."""
    permissions.require(request, perm)
    return get_object_or_404(passages_for(request), pk=passage_id)


@router.post("/passages/{passage_id}/release", response={201: ActionOut})
def release(request, passage_id: uuid.UUID, payload: ReasonIn):
    """Manual release (人工放行): reason required; the passage's final decision becomes "pass"."""
    action = actions.manual_release(acted_on(request, passage_id), request.user, payload.reason)
    return Status(201, action_out(action))


@router.post("/passages/{passage_id}/block", response={201: ActionOut})
def block(request, passage_id: uuid.UUID, payload: ReasonIn):
    """Manual block (人工拦截): reason required; the passage's final decision becomes "block"."""
    action = actions.manual_block(acted_on(request, passage_id), request.user, payload.reason)
    return Status(201, action_out(action))


@router.post("/passages/{passage_id}/cargo", response={201: ActionOut})
def cargo(request, passage_id: uuid.UUID, payload: CargoIn):
    """Cargo name and weight (t) of a passage, typed or from a weighbridge."""
    passage = acted_on(request, passage_id, actions.CARGO_PERMISSION)
    action = actions.enter_cargo(passage, request.user, payload.cargo_name, payload.cargo_weight_t)
    return Status(201, action_out(action))
