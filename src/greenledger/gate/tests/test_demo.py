"""The gate demo: real decisions (a 国四 truck blocked on the orange-alert days, passing on normal days),
manual releases with reasons, and a camera token; loading it again adds nothing."""

import io

import pytest

from greenledger.core import demo as core_demo
from greenledger.core.models import ApiToken
from greenledger.gate import demo
from greenledger.gate.models import Passage, PassageAction, TransportRecord, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_demo(monkeypatch):
    """Two weeks (covering the orange alert) of a smaller fleet, so the test stays quick."""
    monkeypatch.setattr(demo, "DAYS", 13)
    monkeypatch.setattr(demo, "VISITS_PER_DAY", 12)
    core_demo.load()
    out = io.StringIO()
    demo.load(out)
    return out.getvalue()


def test_old_trucks_are_blocked_on_orange_days_and_pass_on_normal_days(short_demo):
    old = Passage.objects.filter(stage="4", vehicle_class="heavy_truck", direction="in")
    assert old.filter(alert_level="orange", decision="block").exists()
    assert old.filter(alert_level="none", decision="pass").exists()
    assert not old.filter(alert_level="orange", decision="pass").exists()
    assert Passage.objects.filter(direction="out", paired_id__isnull=False).exists()


def test_manual_actions_carry_reasons_and_ledgers_have_usage_and_transport(short_demo):
    assert all(a.reason for a in PassageAction.objects.filter(kind__in=["release", "block"]))
    assert UsageRecord.objects.exists() and TransportRecord.objects.filter(mode="rail").exists()


def test_demo_prints_a_camera_token_and_loads_again_without_new_passages(short_demo):
    token = short_demo.split("camera token")[1].split(": ", 1)[1].split()[0]
    found = ApiToken.objects.active().get(key_hash=ApiToken.hash_key(token))
    assert found.purpose == "camera"
    count = Passage.objects.count()
    again = io.StringIO()
    demo.load(again)
    assert Passage.objects.count() == count and "0 new passages" in again.getvalue()
    assert f"camera token (purpose camera, site {found.site.code}): {token}" in again.getvalue()  # the same one
    assert ApiToken.objects.filter(purpose="camera").count() == 1
    found.revoke()
    third = io.StringIO()
    demo.load(third)
    assert token not in third.getvalue()  # a revoked token is replaced by a new one
    assert ApiToken.objects.active().filter(purpose="camera").count() == 1
