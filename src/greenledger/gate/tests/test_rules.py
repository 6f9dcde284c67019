"""The decision engine: precedence of lists, registry and rules, and the default rules matrix."""

import itertools
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from greenledger.gate import rules
from greenledger.gate.codes import AlertLevel, PerformanceGrade
from greenledger.gate.models import GateSettings, ListEntry, RuleSet
from greenledger.gate.rules import Policy, Subject, evaluate, stage_at_most
from greenledger.gate.rulesets import DEFAULT_RULE_SETS, _row

from .factories import make_gate, make_vehicle

GENERAL, CEMENT_A, STRICT = (spec["name"] for spec in DEFAULT_RULE_SETS)


def default_rules(name):
    spec = next(s for s in DEFAULT_RULE_SETS if s["name"] == name)
    return tuple(sorted((SimpleNamespace(pk=i, **_row(row)) for i, row in enumerate(spec["rules"])),
                        key=lambda r: r.priority))


def policy(name=GENERAL, *, grade="B", alert="none", **extra):
    return Policy(grade=grade, alert_level=alert, rules=default_rules(name), rule_set_name=name, **extra)


def truck(stage="4", fuel="diesel", vehicle_class="heavy_truck", **extra):
    extra.setdefault("registration_state", "approved")
    return Subject(plate="苏D12345", kind="road", vehicle_class=vehicle_class, fuel=fuel, stage=stage, **extra)


def decision(pol, subject, direction="in", cargo="", confidence=None):
    return evaluate(pol, subject, direction=direction, cargo=cargo, confidence=confidence).decision


# ---------------------------------------------------------------- stage "or below"


@pytest.mark.parametrize("stage, stage_max, expected", [
    ("4", "4", True), ("3", "4", True), ("5", "4", False), ("0", "4", True), ("ev", "6", False),
    ("unknown", "4", True), ("nr2", "4", False), ("4", "nr2", False), ("nr1", "nr2", True), ("nr3", "nr2", False),
    ("ev", "nr4", False), ("6", "", True),
])
def test_stage_or_below_stays_in_its_family_and_electric_is_never_below(stage, stage_max, expected):
    assert stage_at_most(stage, stage_max) is expected


# ---------------------------------------------------------------- precedence


def test_low_confidence_goes_to_manual_check_before_any_list():
    subject = truck(lists=frozenset({"black"}))
    verdict = evaluate(policy(min_confidence=80), subject, direction="in", confidence=60)
    assert verdict.decision == "manual" and verdict.rule_ref == "reading"


def test_unread_plate_goes_to_manual_check():
    assert decision(policy(), Subject(plate="")) == "manual"


def test_blacklisted_vehicle_is_blocked_even_when_whitelisted():
    verdict = evaluate(policy(), truck(stage="6", lists=frozenset({"black", "white"})), direction="in")
    assert verdict.decision == "block" and verdict.rule_ref == "list:black"


def test_over_emission_list_beats_whitelist():
    verdict = evaluate(policy(), truck(stage="6", lists=frozenset({"over_emission", "white"})), direction="in")
    assert verdict.decision == "block" and verdict.rule_ref == "list:over_emission"


def test_whitelisted_vehicle_passes_an_orange_alert_and_without_registration():
    assert decision(policy(alert="orange"), truck(stage="3", lists=frozenset({"white"}))) == "pass"
    assert decision(policy(alert="red"), Subject(plate="苏D00001", lists=frozenset({"white"}))) == "pass"


@pytest.mark.parametrize("action", ["manual", "block", "pass"])
def test_unregistered_vehicle_follows_the_site_setting(action):
    verdict = evaluate(policy(unknown_vehicle_action=action), Subject(plate="苏D99999"), direction="in")
    assert verdict.decision == action and verdict.rule_ref == "registry:unknown"


def test_rejected_registration_counts_as_unregistered():
    subject = truck(stage="6", registration_state="rejected")
    assert decision(policy(unknown_vehicle_action="block"), subject) == "block"


def test_pending_registration_follows_the_pending_setting():
    subject = truck(stage="6", registration_state="pending")
    assert decision(policy(pending_vehicle_action="pass"), subject) == "pass"
    assert decision(policy(), subject) == "manual"


def test_no_rule_set_in_force_passes_registered_vehicles():
    assert decision(Policy(grade="B", alert_level="red"), truck(stage="3")) == "pass"


def test_rule_set_default_applies_when_no_rule_matches():
    pol = Policy(grade="B", rules=(), rule_set_name="empty", default_action="manual")
    assert decision(pol, truck(stage="6")) == "manual"


def test_the_default_decision_is_given_in_words_with_its_rule_set():
    from django.utils import translation

    pol = Policy(grade="B", rules=(), rule_set_name="日常", default_action="pass")
    with translation.override("zh-hans"):
        verdict = evaluate(pol, truck(stage="4"), direction="in")
    assert verdict.decision == "pass"
    assert "“日常”中没有限制它的规则" in verdict.reason and verdict.reason.endswith("放行")
    assert verdict.rule_ref == "日常 default"


def test_reason_names_the_vehicle_the_rule_and_the_rule_set():
    verdict = evaluate(policy(alert="orange"), truck(stage="4"), direction="in")
    assert verdict.decision == "block"
    assert "国四及以下重型货车" in verdict.reason and GENERAL in verdict.reason and "#100" in verdict.rule_ref
    assert "苏D12345" in verdict.display


def test_first_rule_by_priority_decides():
    low = SimpleNamespace(pk=1, **_row({"priority": 5, "action": "manual", "reason": "first"}))
    high = SimpleNamespace(pk=2, **_row({"priority": 50, "action": "block", "reason": "second"}))
    pol = Policy(grade="B", rules=(low, high), rule_set_name="t")
    assert decision(pol, truck()) == "manual"


def test_direction_and_cargo_conditions():
    out_only = SimpleNamespace(pk=1, **_row({"priority": 1, "action": "block", "reason": "r", "directions": ["out"],
                                             "cargo_keywords": "煤，矿粉"}))
    pol = Policy(grade="B", rules=(out_only,), rule_set_name="t")
    assert decision(pol, truck(), direction="out", cargo="原煤 32t") == "block"
    assert decision(pol, truck(), direction="in", cargo="原煤") == "pass"
    assert decision(pol, truck(), direction="out", cargo="石灰石") == "pass"


# ---------------------------------------------------------------- the general (by grade) rule set, whole matrix

GRADES = [g.value for g in PerformanceGrade]
LEVELS = [level.value for level in AlertLevel]
ROAD = ["0", "1", "2", "3", "4", "5", "6", "ev", "unknown"]


def expected_general(grade, alert, vehicle_class, stage, special=False, hazmat=False):
    if special or (hazmat and alert != "none"):
        return "pass"
    if grade in ("leading", "A"):
        return "pass"
    below = {"heavy_truck": lambda s, m: s == "unknown" or (s != "ev" and int(s) <= m)}
    if vehicle_class == "heavy_truck":
        if alert in ("orange", "red") and below["heavy_truck"](stage, 4):
            return "block"
        if grade in ("C", "D") and alert == "yellow" and below["heavy_truck"](stage, 4):
            return "block"
        if grade in ("C", "D") and alert == "red" and stage != "ev":
            return "block"
    return "pass"


@pytest.mark.parametrize("grade, alert", list(itertools.product(GRADES, LEVELS)))
@pytest.mark.parametrize("vehicle_class", ["heavy_truck", "light_truck", "car"])
@pytest.mark.parametrize("direction", ["in", "out"])
def test_general_rule_set_matrix_for_road_vehicles(grade, alert, vehicle_class, direction):
    for stage, fuel in itertools.product(ROAD, ["diesel", "gas"]):
        subject = truck(stage=stage, fuel=fuel if stage != "ev" else "electric", vehicle_class=vehicle_class)
        got = decision(policy(grade=grade, alert=alert), subject, direction=direction)
        assert got == expected_general(grade, alert, vehicle_class, stage), (grade, alert, vehicle_class, stage, fuel)


@pytest.mark.parametrize("grade, alert", list(itertools.product(GRADES, LEVELS)))
def test_special_and_hazmat_vehicles_are_exempt_during_alerts(grade, alert):
    for stage in ROAD:
        assert decision(policy(grade=grade, alert=alert), truck(stage=stage, special_purpose=True)) == "pass"
        expected = expected_general(grade, alert, "heavy_truck", stage, hazmat=True)
        assert decision(policy(grade=grade, alert=alert), truck(stage=stage, hazmat=True)) == expected


@pytest.mark.parametrize("grade, alert", list(itertools.product(GRADES, LEVELS)))
def test_old_non_road_machinery_stops_from_orange_below_grade_a(grade, alert):
    for stage in ["nr1", "nr2", "nr3", "nr4", "ev"]:
        machine = truck(stage=stage, vehicle_class="nrmm")
        stops = alert in ("orange", "red") and grade not in ("leading", "A") and stage in ("nr1", "nr2")
        assert decision(policy(grade=grade, alert=alert), machine) == ("block" if stops else "pass"), stage


def test_china_iv_diesel_truck_blocked_in_orange_passes_on_a_normal_day():
    assert decision(policy(alert="orange"), truck(stage="4")) == "block"
    assert decision(policy(alert="none"), truck(stage="4")) == "pass"
    assert decision(policy(alert="orange"), truck(stage="5")) == "pass"
    assert decision(policy(alert="orange"), truck(stage="ev", fuel="electric")) == "pass"


# ---------------------------------------------------------------- the other default sets


def test_cement_grade_a_set_applies_every_day_with_a_cargo_exemption_for_cement_tankers():
    for alert in LEVELS:
        assert decision(policy(CEMENT_A, grade="A", alert=alert), truck(stage="4")) == "block"
        assert decision(policy(CEMENT_A, grade="A", alert=alert), truck(stage="4"), cargo="散装水泥 30t") == "pass"
        assert decision(policy(CEMENT_A, grade="A", alert=alert), truck(stage="5")) == "pass"
    assert decision(policy(CEMENT_A, grade="A"), truck(stage="4", vehicle_class="in_plant")) == "block"
    assert decision(policy(CEMENT_A, grade="A"), truck(stage="nr2", vehicle_class="nrmm")) == "block"
    assert decision(policy(CEMENT_A, grade="A"), truck(stage="nr3", vehicle_class="nrmm")) == "pass"


def test_strict_set_blocks_from_yellow_and_checks_old_diesel_trucks_by_hand_on_normal_days():
    assert decision(policy(STRICT, alert="yellow"), truck(stage="4")) == "block"
    assert decision(policy(STRICT, alert="none"), truck(stage="3")) == "manual"
    assert decision(policy(STRICT, alert="none"), truck(stage="3", fuel="gas")) == "pass"
    assert decision(policy(STRICT, alert="none"), truck(stage="4")) == "pass"


# ---------------------------------------------------------------- against the database


@pytest.mark.django_db
def test_decide_reads_registry_lists_settings_and_alert_level(site):
    make_gate(site, grade="B", rule_set=RuleSet.objects.get(name=GENERAL))
    make_vehicle(site, "苏D12345", stage="4")
    now = timezone.now()
    verdict, subject, _obj, pol = rules.decide(site, "苏D12345", "yellow", direction="in", when=now)
    assert verdict.decision == "pass" and subject.stage == "4" and pol.alert_level == "none"
    from greenledger.gate.alerts import switch_alert

    switch_alert(site, "橙色", reason="市重污染天气应急指挥部通知")
    verdict, *_ = rules.decide(site, "苏D12345", "yellow", direction="in", when=timezone.now())
    assert verdict.decision == "block"
    ListEntry.objects.create(site=site, kind="white", plate="苏D12345", reason="应急保障",
                             valid_until=now + timedelta(hours=1))
    verdict, *_ = rules.decide(site, "苏D12345", "yellow", direction="in", when=timezone.now())
    assert verdict.decision == "pass" and verdict.rule_ref == "list:white"


@pytest.mark.django_db
def test_expired_list_entry_and_other_colour_do_not_count(site):
    now = timezone.now()
    ListEntry.objects.create(site=site, kind="black", plate="苏D1", reason="x", valid_from=now - timedelta(days=2),
                             valid_until=now - timedelta(days=1))
    ListEntry.objects.create(site=site, kind="black", plate="苏D2", plate_color="blue", reason="x")
    later = timezone.now()
    assert rules.lists_on(site, "苏D1", "yellow", later) == frozenset()
    assert rules.lists_on(site, "苏D2", "yellow", later) == frozenset()
    assert rules.lists_on(site, "苏D2", "blue", later) == {"black"}


@pytest.mark.django_db
def test_site_without_settings_uses_manual_check_for_unknown_vehicles(site):
    GateSettings.objects.filter(site=site).delete()
    verdict, *_ = rules.decide(site, "苏D77777", "yellow", direction="in", when=timezone.now())
    assert verdict.decision == "manual"
