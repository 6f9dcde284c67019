"""A guard's actions on a passage (人工放行 / 人工拦截 / 货物录入), each a sealed ``PassageAction``.

A manual release or block is an exception the performance-rating reviewers look at, so the reason
is required. The passage itself stays sealed; only its derived fields (``final_decision``,
``handled_by_id``, ``cargo_*``) follow the latest action.

The barrier: a camera-relay lane (Zhenshi) opens only through the reply to the camera's push, which
is long gone when a guard releases by hand, so the release is recorded and the guard opens the
barrier locally. A Hikvision lane takes a separate ISAPI command: :func:`open_barrier_for` sends it
after the transaction commits, through ``gate.barrier`` when that module offers an open function.
"""

import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenledger.core.permissions import user_sites

from .codes import Decision
from .models import ActionKind, BarrierKind, Passage, PassageAction

logger = logging.getLogger("greenledger.gate")

RELEASE_PERMISSION = "gate.release_manually"
CARGO_PERMISSION = "gate.add_passageaction"
MAX_CARGO_T = Decimal("1000")


def manual_release(passage, user, reason, *, occurred_at=None):
    """Let the vehicle through by hand (人工放行); returns the sealed action."""
    action = _decide(passage, user, reason, ActionKind.RELEASE, Decision.PASS, occurred_at)
    transaction.on_commit(lambda: open_barrier_for(action.passage, user))
    return action


def manual_block(passage, user, reason, *, occurred_at=None):
    """Keep the vehicle out by hand (人工拦截); returns the sealed action."""
    return _decide(passage, user, reason, ActionKind.BLOCK, Decision.BLOCK, occurred_at)


def enter_cargo(passage, user, name, weight_t, *, occurred_at=None):
    """Record the cargo name and weight of a passage (typed, or from a weighbridge); returns the action."""
    _check_access(passage, user, CARGO_PERMISSION)
    name = (name or "").strip()
    weight = _weight(weight_t)
    if not name:
        raise ValidationError({"cargo_name": ValidationError(_("Enter the cargo name."), code="required")})
    with transaction.atomic():
        passage = _locked(passage)
        action = PassageAction.objects.create(passage=passage, kind=ActionKind.CARGO, cargo_name=name[:100],
                                              cargo_weight_t=weight, actor=user,
                                              occurred_at=occurred_at or timezone.now())
        passage.cargo_name, passage.cargo_weight_t = action.cargo_name, weight
        passage.save(update_fields=["cargo_name", "cargo_weight_t"])
    action.passage = passage
    return action


def _decide(passage, user, reason, kind, final_decision, occurred_at=None):
    _check_access(passage, user, RELEASE_PERMISSION)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ValidationError(
            _("A manual release or block needs a reason: say why the rule was overridden."), code="required")})
    with transaction.atomic():
        passage = _locked(passage)
        action = PassageAction.objects.create(passage=passage, kind=kind, reason=reason, actor=user,
                                              occurred_at=occurred_at or timezone.now())
        passage.final_decision, passage.handled_by_id = final_decision, user.pk
        passage.save(update_fields=["final_decision", "handled_by_id"])
    action.passage = passage
    return action


def _check_access(passage, user, perm):
    if not user.has_perm(perm):
        raise PermissionDenied(f"missing permission {perm}")
    if not user_sites(user).filter(pk=passage.site_id).exists():
        raise PermissionDenied("site outside your scope")


def _locked(passage):
    """The passage re-read under a row lock, so two guards' actions apply one after the other."""
    return Passage.objects.select_for_update().select_related("lane").get(pk=passage.pk)


def _weight(value):
    if value in (None, ""):
        return None
    try:
        weight = Decimal(str(value).strip()).quantize(Decimal("0.001"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"cargo_weight_t": ValidationError(
            _("The weight must be a number of tonnes, e.g. 31.5."), code="invalid")})
    if weight < 0 or weight > MAX_CARGO_T:
        raise ValidationError({"cargo_weight_t": ValidationError(
            _("The weight must lie between 0 and %(max)s t.") % {"max": MAX_CARGO_T}, code="range")})
    return weight


# Barrier ----------------------------------------------------------------------------------------


def can_open_remotely(lane):
    """Whether a manual release can open this lane's barrier (Hikvision command) or the guard must."""
    return lane.barrier == BarrierKind.HIKVISION


def open_barrier_for(passage, user):
    """Open a Hikvision lane's barrier after a manual release; returns True when a command was sent.

    Uses the first open function ``gate.barrier`` offers (the intake's barrier client); without one
    (or for relay and hand-opened lanes) nothing is sent and the console tells the guard to open by hand.
    """
    if not can_open_remotely(passage.lane):
        return False
    opener = barrier_opener()
    if opener is None:
        logger.warning("manual release of %s at %s: no barrier client (gate.barrier) to send the command",
                       passage.plate, passage.lane)
        return False
    try:
        opener(passage.lane, passage=passage)
    except Exception:  # the release is recorded either way; the guard sees the barrier stay shut
        logger.exception("barrier command for %s failed", passage.lane)
        return False
    return True


BARRIER_OPEN_NAMES = ("open_barrier", "open_lane", "open")


def barrier_opener():
    """The barrier module's open function, or None while the intake ships none (the hook)."""
    try:
        from . import barrier
    except ImportError:
        return None
    for name in BARRIER_OPEN_NAMES:
        function = getattr(barrier, name, None)
        if callable(function):
            return function
    return None
