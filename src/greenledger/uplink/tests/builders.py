"""Builders for uplink tests: keys, a platform wired to a running simulator, passages at given times."""

import datetime
import itertools

from django.utils import timezone

from greenledger.gate.models import Lane, Passage
from greenledger.gate.tests.factories import make_gate
from greenledger.uplink import signing
from greenledger.uplink.models import Platform, Profile
from greenledger.uplink.simulator import RegulatorSimulator, SimulatorState

_KEYS = {}


def keys(kind=signing.RSA2):
    """Key pairs made once per test session (RSA generation is slow): ours and the platform's."""
    if kind not in _KEYS:
        make = signing.new_sm2_keypair if kind == signing.SM2 else signing.new_rsa_keypair
        _KEYS[kind] = {"ours": make(), "platform": make()}
    return _KEYS[kind]


def start_simulator(sign_type=signing.RSA2, app_id="GL-TEST", secret="s3cret-app", token_ttl=7200, **switches):
    pair = keys(sign_type)
    other = signing.SM2 if sign_type == signing.RSA2 else signing.RSA2
    sim_keys = {sign_type: {"private": pair["platform"][0], "public": pair["platform"][1]},
                other: {"private": keys(other)["platform"][0], "public": keys(other)["platform"][1]}}
    state = SimulatorState({app_id: {"secret": secret, "public_key": pair["ours"][1], "sign_type": sign_type}},
                           sim_keys, token_ttl=token_ttl, switches=switches)
    return RegulatorSimulator(state).start()


def make_platform(site, simulator, *, tmp_path, monkeypatch, sign_type=signing.RSA2, code=None, app_id="GL-TEST",
                  secret="s3cret-app", **fields):
    """A platform for ``site`` pointing at ``simulator``; the secret in an env var, the key in a file."""
    pair = keys(sign_type)
    key_file = tmp_path / f"uplink-{sign_type}.key"
    key_file.write_text(pair["ours"][0])
    variable = f"GL_TEST_UPLINK_SECRET_{sign_type}"
    monkeypatch.setenv(variable, secret)
    fields.setdefault("pull_instructions", False)
    fields.setdefault("heartbeat_seconds", 3600)
    return Platform.objects.create(
        site=site, code=code or f"sim-{sign_type.lower()}", name="模拟监管平台", base_url=simulator.url,
        profile=Profile.GENERIC_SM2 if sign_type == signing.SM2 else Profile.GENERIC_RSA2, app_id=app_id,
        enterprise_code="320412000001", app_secret_ref=f"env:{variable}", private_key_ref=f"file:{key_file}",
        platform_public_key=pair["platform"][1], **fields)


_plates = itertools.count(10000)


def make_passage(site, *, at=None, recorded_at=None, direction="in", plate=None, lane=None):
    """A sealed passage at ``at`` (default now), recorded at ``recorded_at`` (default ``at``)."""
    if lane is None:
        lane = Lane.objects.filter(gate__site=site, direction=direction).first()
        if lane is None:
            make_gate(site)
            lane = Lane.objects.get(gate__site=site, direction=direction)
    at = at or timezone.now()
    return Passage.objects.create(
        site=site, gate=lane.gate, lane=lane, direction=direction, occurred_at=at, recorded_at=recorded_at or at,
        plate=plate or f"苏D{next(_plates) % 100000:05d}", plate_color="yellow", vehicle_kind="unknown",
        vehicle_class="heavy_truck", fuel="diesel", stage="5", decision="pass", reason="test")


def day_start(day_offset=0):
    now = timezone.localtime()
    return (now - datetime.timedelta(days=day_offset)).replace(hour=0, minute=0, second=0, microsecond=0)
