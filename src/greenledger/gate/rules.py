"""Decision engine of the gate (门禁判定): registry + lists + rules in force → pass / block / manual check.

Plain functions, no HTTP. :func:`decide` gathers the facts from the database (site settings,
the alert level in force, the registry, the lists) and :func:`evaluate` applies them, so the
rules matrix can be tested without any rows.

Order of precedence (the first step that answers decides):

1. **plate not read / confidence below the site's minimum** → manual check: a misread plate
   could hit anyone's list entry or registration, so nothing below may be trusted;
2. **blacklist**, then the **regulator's over-emission list** → block. A sanction always beats
   the whitelist: a plate on both is a conflict a person resolves by ending one entry;
3. **whitelist** → pass, whatever the registry and the alert level say (emergency, official and
   other vehicles the site chose to admit); the passage is recorded like any other;
4. **registry**: unregistered → ``GateSettings.unknown_vehicle_action`` (manual check by default),
   waiting for review → ``pending_vehicle_action``, rejected → treated as unregistered;
5. **rules** of the rule set in force, lowest ``priority`` first; the first matching rule decides;
   no match → the rule set's ``default_action``; no rule set in force → pass.

A rule matches when every non-empty condition holds: grade, alert level, vehicle class, fuel,
stage list, ``stage_max`` ("this stage or below" within the same family — road 国0–国6 or
non-road 国一–国四; electric is never "below"; an *unknown* stage counts as below, since a
stage nobody has verified cannot prove compliance), direction, special-purpose / hazmat flags
(``None`` = any) and cargo keywords (any keyword contained in the cargo name).
"""

import time
from dataclasses import dataclass, field

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from greenledger.core.prepared import Prepared

from .codes import (
    NRMM_STAGES, ROAD_STAGES, STAGE_RANK, AlertLevel, Decision, EmissionStage, Fuel, RegistrationState,
    VehicleClass,
)
from .models import GateSettings, ListEntry, ListKind, Rule, VehicleKind

RULES_CACHE_SECONDS = 2


@dataclass(frozen=True)
class Subject:
    """What the engine knows about the vehicle at the gate."""

    plate: str
    kind: str = VehicleKind.UNKNOWN
    registration_state: str = ""
    vehicle_class: str = VehicleClass.UNKNOWN
    fuel: str = ""
    stage: str = EmissionStage.UNKNOWN
    special_purpose: bool = False
    hazmat: bool = False
    lists: frozenset = frozenset()  # ListKind values the plate is on right now


@dataclass(frozen=True)
class Policy:
    """The site's settings and rules in force at the moment of the passage."""

    grade: str
    alert_level: str = AlertLevel.NONE
    rules: tuple = ()
    rule_set_name: str = ""
    default_action: str = Decision.PASS
    unknown_vehicle_action: str = Decision.MANUAL
    pending_vehicle_action: str = Decision.MANUAL
    min_confidence: int = 0


@dataclass
class Verdict:
    decision: str
    reason: str
    rule_ref: str = ""
    display: str = ""
    rule_id: int | None = None
    facts: dict = field(default_factory=dict)


# ---------------------------------------------------------------- pure evaluation


def evaluate(policy, subject, *, direction, cargo="", confidence=None):
    """The verdict for ``subject`` under ``policy`` (see the module docstring for the order)."""
    verdict = (_check_reading(policy, subject, confidence) or _check_lists(subject)
               or _check_registry(policy, subject) or _apply_rules(policy, subject, direction, cargo or ""))
    verdict.display = display_text(subject, verdict.decision)
    return verdict


def _check_reading(policy, subject, confidence):
    if not subject.plate:
        return Verdict(Decision.MANUAL, _("Plate not recognised: check by hand"), "reading")
    if confidence is not None and confidence < policy.min_confidence:
        return Verdict(Decision.MANUAL, _("Plate read with confidence %(confidence)s below %(minimum)s: check by hand")
                       % {"confidence": confidence, "minimum": policy.min_confidence}, "reading")
    return None


def _check_lists(subject):
    if ListKind.BLACKLIST in subject.lists:
        return Verdict(Decision.BLOCK, _("On the blacklist"), "list:black")
    if ListKind.OVER_EMISSION in subject.lists:
        return Verdict(Decision.BLOCK, _("On the regulator's over-emission list"), "list:over_emission")
    if ListKind.WHITELIST in subject.lists:
        return Verdict(Decision.PASS, _("On the whitelist"), "list:white")
    return None


def _check_registry(policy, subject):
    if subject.kind == VehicleKind.UNKNOWN or subject.registration_state == RegistrationState.REJECTED:
        reason = (_("Registration rejected: treated as unregistered")
                  if subject.registration_state == RegistrationState.REJECTED else _("Unregistered vehicle"))
        return Verdict(policy.unknown_vehicle_action, reason, "registry:unknown")
    if subject.registration_state == RegistrationState.PENDING:
        return Verdict(policy.pending_vehicle_action, _("Registration waiting for review"), "registry:pending")
    return None


def _apply_rules(policy, subject, direction, cargo):
    vehicle = describe(subject)
    for rule in policy.rules:
        if rule_matches(rule, policy, subject, direction, cargo):
            ref = f"{policy.rule_set_name} #{rule.priority}"[:200]
            reason = _("%(vehicle)s: %(reason)s (rule: %(rule)s)") % {
                "vehicle": vehicle, "reason": rule.reason, "rule": ref}
            return Verdict(rule.action, reason[:300], ref, rule_id=rule.pk)
    if not policy.rule_set_name:
        return Verdict(Decision.PASS, _("%(vehicle)s: no rule set in force") % {"vehicle": vehicle}, "")
    reason = _("%(vehicle)s: no rule of %(rule_set)s restricts it; the rule set's default applies: %(action)s") % {
        "vehicle": vehicle, "rule_set": policy.rule_set_name, "action": Decision(policy.default_action).label}
    return Verdict(policy.default_action, reason[:300], f"{policy.rule_set_name} default"[:200])


def rule_matches(rule, policy, subject, direction, cargo):
    """Whether every non-empty condition of ``rule`` holds."""
    return (
        _in(rule.grades, policy.grade) and _in(rule.alert_levels, policy.alert_level)
        and _in(rule.vehicle_classes, subject.vehicle_class) and _in(rule.fuels, subject.fuel)
        and _in(rule.stages, subject.stage) and stage_at_most(subject.stage, rule.stage_max)
        and _in(rule.directions, direction)
        and (rule.special_purpose is None or rule.special_purpose == subject.special_purpose)
        and (rule.hazmat is None or rule.hazmat == subject.hazmat)
        and cargo_matches(rule.cargo_keywords, cargo)
    )


def _in(codes, value):
    return not codes or value in codes


def stage_at_most(stage, stage_max):
    """"``stage`` is ``stage_max`` or below": same family only, electric never, unknown always."""
    if not stage_max:
        return True
    if stage in ("", EmissionStage.UNKNOWN, None):
        return True
    if stage == EmissionStage.ELECTRIC:
        return False
    family = NRMM_STAGES if stage_max in NRMM_STAGES else ROAD_STAGES
    if stage not in family:
        return False
    return STAGE_RANK[stage] <= STAGE_RANK[stage_max]


def cargo_matches(keywords, cargo):
    words = [w.strip() for w in (keywords or "").replace("，", ",").split(",") if w.strip()]
    return not words or any(word in (cargo or "") for word in words)


# ---------------------------------------------------------------- words


def describe(subject):
    """e.g. "国四 柴油 重型货车" — stage, fuel and class in the UI language."""
    return _("%(stage)s %(fuel)s %(class)s") % {
        "stage": _label(EmissionStage, subject.stage), "fuel": _label(Fuel, subject.fuel) if subject.fuel else "",
        "class": _label(VehicleClass, subject.vehicle_class)}


def display_text(subject, decision):
    """LED/voice text: plate, emission stage, pass or deny."""
    words = {Decision.PASS: _("Please pass"), Decision.BLOCK: _("No entry"), Decision.MANUAL: _("Wait for a check")}
    plate = subject.plate or _("No plate")
    return (_("%(plate)s %(stage)s %(verdict)s") % {
        "plate": plate, "stage": _label(EmissionStage, subject.stage), "verdict": words[decision]})[:200]


def _label(choices, value):
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


# ---------------------------------------------------------------- gathering the facts


def site_settings(site):
    """The site's GateSettings (with its rule set), or unsaved defaults."""
    found = GateSettings.objects.select_related("rule_set").filter(site=site).first()
    return found or GateSettings(site=site)


def rules_of(rule_set):
    """The rule set's rules, cached for two seconds (edits reach every gate almost at once)."""
    if rule_set is None:
        return ()
    key = f"gate:rules:{rule_set.pk}"
    rules = cache.get(key)
    if rules is None:
        rules = tuple(Rule.objects.filter(rule_set=rule_set).order_by("priority", "id"))
        cache.set(key, rules, RULES_CACHE_SECONDS)
    return rules


def forget_rules(rule_set_id):
    """Called after an edit so the next decision reads the new rules."""
    cache.delete(f"gate:rules:{rule_set_id}")


_recent = {}  # (kind, site id) -> (expires monotonic, value): per-process, at most RULES_CACHE_SECONDS old


def _cached(kind, site_id, load):
    now = time.monotonic()
    hit = _recent.get((kind, site_id))
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    _recent[(kind, site_id)] = (now + RULES_CACHE_SECONDS, value)
    return value


def forget_site(site_id):
    """Drop this process's cached settings and alert level of a site (after a switch or an edit)."""
    _recent.pop(("settings", site_id), None)
    _recent.pop(("level", site_id), None)


def policy_for(site, when):
    """Settings, rules and alert level; for a live decision (``when`` is now) they may be two seconds old."""
    from .alerts import level_at

    live = abs((timezone.now() - when).total_seconds()) < 1
    settings = _cached("settings", site.pk, lambda: site_settings(site)) if live else site_settings(site)
    level = _cached("level", site.pk, lambda: level_at(site, when)) if live else level_at(site, when)
    rule_set = settings.rule_set
    return Policy(
        grade=settings.grade, alert_level=level, rules=rules_of(rule_set),
        rule_set_name=rule_set.name if rule_set else "",
        default_action=rule_set.default_action if rule_set else Decision.PASS,
        unknown_vehicle_action=settings.unknown_vehicle_action,
        pending_vehicle_action=settings.pending_vehicle_action, min_confidence=settings.min_confidence,
    )


_list_entries = Prepared(lambda site_id, plate, when: ListEntry.objects.filter(
    site_id=site_id, plate=plate, valid_from__lte=when).values_list("kind", "plate_color", "valid_until"))


def lists_on(site, plate, plate_color, when):
    """The list kinds ``plate`` is on at ``when`` (an entry without a colour covers every colour)."""
    if not plate:
        return frozenset()
    entries = _list_entries.all(site_id=site.pk, plate=plate, when=when)
    return frozenset(kind for kind, color, until in entries
                     if (until is None or until > when) and (not color or not plate_color
                                                              or plate_color == "unknown" or color == plate_color))


def subject_for(kind, obj, plate, lists=frozenset()):
    """A :class:`Subject` from a registry object as ``gate.registry.find_registered`` returns it."""
    if obj is None:
        return Subject(plate=plate, lists=lists)
    if kind == VehicleKind.ROAD:
        vehicle_class = obj.vehicle_class
    elif kind == VehicleKind.IN_PLANT:
        vehicle_class = VehicleClass.IN_PLANT
    else:
        vehicle_class = VehicleClass.NRMM
    return Subject(plate=plate, kind=kind, registration_state=obj.state, vehicle_class=vehicle_class,
                   fuel=obj.fuel, stage=obj.stage, special_purpose=bool(getattr(obj, "special_purpose", False)),
                   hazmat=bool(getattr(obj, "hazmat", False)), lists=lists)


def decide(site, plate, plate_color, *, direction, when, cargo="", confidence=None):
    """Look everything up and decide; returns ``(verdict, kind, registry object, policy)``."""
    from .registry import find_registered

    kind, obj = find_registered(site, plate, plate_color) if plate else (VehicleKind.UNKNOWN, None)
    subject = subject_for(kind, obj, plate, lists_on(site, plate, plate_color, when))
    policy = policy_for(site, when)
    verdict = evaluate(policy, subject, direction=direction, cargo=cargo, confidence=confidence)
    return verdict, subject, obj, policy
