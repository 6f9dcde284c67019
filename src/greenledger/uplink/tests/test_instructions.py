"""Regulator control measures: pulled from the feed or pushed signed, applied to the alert level, acknowledged."""

import json

import pytest
from django.utils import timezone

from greenledger.gate.alerts import level_at
from greenledger.gate.models import AlertPeriod
from greenledger.uplink import signing
from greenledger.uplink.models import InboundInstruction
from greenledger.uplink.worker import Worker

from .builders import keys

pytestmark = pytest.mark.django_db

ORANGE = {"id": "CM-001", "startTime": "2026-01-01 08:00:00", "endTime": "2099-01-01 00:00:00",
          "warningLevel": "橙色", "respondLevel": "II级", "controlMeasures": "禁止国四及以下柴油货车进出"}


def test_a_pulled_instruction_switches_the_alert_level_once_and_is_acknowledged(site, platform, simulator):
    platform.pull_instructions = True
    platform.save()
    simulator.state.control_measures.append(ORANGE)
    Worker("w1").run_once()
    Worker("w1").run_once(now=timezone.now() + timezone.timedelta(hours=1))
    instruction = InboundInstruction.objects.get()
    period = AlertPeriod.objects.get(pk=instruction.alert_period_id)
    assert period.source == "regulator" and period.regulator_ref == "CM-001" and period.measures_text.startswith("禁止")
    assert level_at(site) == "orange"
    assert instruction.acknowledged_at is not None
    assert simulator.state.acks["CM-001"]["applied"] is True


def _signed_post(client, body, private_key, app_id="GL-TEST"):
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = signing.sign_headers(signing.RsaSigner(private_key), method="POST", path="/api/uplink/instructions",
                                   query={}, app_id=app_id, body=data)
    return client.post("/api/uplink/instructions", data, content_type="application/json",
                       headers=headers)


def test_a_pushed_instruction_with_the_platforms_signature_is_applied_and_acknowledged_signed(client, site, platform):
    response = _signed_post(client, {**ORANGE, "id": "CM-PUSH"}, keys()["platform"][0])
    assert response.status_code == 200
    assert response.json()["data"]["applied"] is True
    ours = signing.RsaSigner(None, keys()["ours"][1])
    signing.verify_reply(ours, 200, {k: response.headers[k] for k in ("X-Timestamp", "X-Nonce", "X-Sign")},
                         response.content)
    assert level_at(site) == "orange"
    again = _signed_post(client, {**ORANGE, "id": "CM-PUSH"}, keys()["platform"][0])
    assert again.status_code == 200 and InboundInstruction.objects.count() == 1 and AlertPeriod.objects.count() == 1


def test_a_push_signed_with_another_key_is_refused_and_changes_nothing(client, site, platform):
    response = _signed_post(client, ORANGE, keys()["ours"][0])
    assert response.status_code == 401
    assert response.json()["errors"][0]["rule"] == "signature"
    assert not InboundInstruction.objects.exists() and level_at(site) == "none"


def test_an_instruction_with_an_unknown_level_is_kept_and_acknowledged_as_not_applied(client, site, platform):
    response = _signed_post(client, {**ORANGE, "id": "CM-BAD", "warningLevel": "紫色", "respondLevel": ""},
                            keys()["platform"][0])
    assert response.status_code == 200 and response.json()["data"]["applied"] is False
    instruction = InboundInstruction.objects.get()
    assert "紫色" in instruction.apply_error and instruction.raw["warningLevel"] == "紫色"
    assert level_at(site) == "none"
