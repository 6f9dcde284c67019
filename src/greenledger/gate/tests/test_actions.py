"""A guard's manual release, manual block and cargo entry: reason required, sealed, scoped, barrier."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from greenledger.evidence.services import leaf_of
from greenledger.gate import actions, barrier
from greenledger.gate.models import BarrierKind, PassageAction

from .factories import make_gate
from .test_ledger import make_passage

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate(site):
    return make_gate(site)


@pytest.fixture
def guard(role_user, site):
    return role_user("gate_guard", site)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_manual_release_without_a_reason_is_refused_and_changes_nothing(site, gate, guard, reason):
    passage = make_passage(site, gate, decision="manual")
    with pytest.raises(ValidationError) as refused:
        actions.manual_release(passage, guard, reason)
    assert "reason" in refused.value.message_dict
    passage.refresh_from_db()
    assert passage.final_decision == "manual" and passage.handled_by_id is None
    assert not PassageAction.objects.exists()


def test_manual_release_is_a_sealed_exception_and_the_gate_decision_stays(site, gate, guard):
    passage = make_passage(site, gate, decision="block", reason="橙色预警禁止国四")
    action = actions.manual_release(passage, guard, "  消防车紧急进厂  ")
    passage.refresh_from_db()
    assert (passage.decision, passage.final_decision, passage.handled_by_id) == ("block", "pass", guard.pk)
    assert action.reason == "消防车紧急进厂" and action.actor == guard and leaf_of(action) is not None


def test_manual_block_overrides_a_pass(site, gate, guard):
    passage = make_passage(site, gate, decision="pass")
    actions.manual_block(passage, guard, "随车清单与车辆不符")
    passage.refresh_from_db()
    assert passage.final_decision == "block" and passage.actions.get().kind == "block"


def test_a_guard_of_another_site_may_not_act(site, other_site, gate, role_user):
    passage = make_passage(site, gate, decision="manual")
    with pytest.raises(PermissionDenied):
        actions.manual_release(passage, role_user("gate_guard", other_site, username="far"), "x")


def test_an_auditor_may_not_release(site, gate, role_user):
    passage = make_passage(site, gate, decision="manual")
    with pytest.raises(PermissionDenied):
        actions.manual_release(passage, role_user("auditor", site), "x")


def test_cargo_entry_sets_the_passage_cargo_and_checks_the_weight(site, gate, guard):
    passage = make_passage(site, gate)
    with pytest.raises(ValidationError) as bad:
        actions.enter_cargo(passage, guard, "电解液", "lots")
    assert "cargo_weight_t" in bad.value.message_dict
    with pytest.raises(ValidationError) as missing:
        actions.enter_cargo(passage, guard, " ", "3")
    assert "cargo_name" in missing.value.message_dict
    actions.enter_cargo(passage, guard, "电解液", "18.2")
    passage.refresh_from_db()
    assert (passage.cargo_name, str(passage.cargo_weight_t)) == ("电解液", "18.200")
    assert passage.final_decision == "pass"  # cargo is no exception


def test_release_on_a_hikvision_lane_sends_the_barrier_command_after_commit(
        site, gate, guard, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(barrier, "open_barrier", lambda lane, passage=None: sent.append((lane.code, passage.pk)))
    lane = gate.lanes.get(direction="in")
    lane.barrier = BarrierKind.HIKVISION
    lane.save()
    passage = make_passage(site, gate, decision="block")
    with django_capture_on_commit_callbacks(execute=True):
        actions.manual_release(passage, guard, "经理批准")
        assert sent == []
    assert sent == [(lane.code, passage.pk)]


def test_release_on_a_relay_lane_sends_nothing_and_says_to_open_by_hand(
        site, gate, guard, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(barrier, "open_barrier", lambda lane, passage=None: sent.append(lane))
    passage = make_passage(site, gate, decision="block")
    with django_capture_on_commit_callbacks(execute=True):
        actions.manual_release(passage, guard, "经理批准")
    assert sent == [] and not actions.can_open_remotely(passage.lane)
