"""The camera simulator against a live server: pushes arrive, passages and replays are recorded once."""

import time
from io import StringIO

import pytest
from django.core.management import call_command

from greenledger.core.models import ApiToken
from greenledger.gate.models import CameraEvent, ListEntry, Passage
from greenledger.gate.rulesets import load_defaults

from .factories import make_gate, make_vehicle


def wait_for_writes(events, timeout=10):
    """The server answers each push first and writes it right after (the camera endpoint's spool):
    wait until ``events`` are stored and nothing is left to write, before the test's database is
    flushed under a write still running."""
    from greenledger.gate.services import PUSH_SPOOL

    deadline = time.monotonic() + timeout
    while (CameraEvent.objects.count() < events or PUSH_SPOOL.pending) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_simulator_posts_zhenshi_and_hikvision_pushes_to_a_live_server(live_server, site):
    load_defaults()  # transactional tests start without the migration's rows
    make_gate(site, code="main")
    make_gate(site, code="east", protocol="hikvision")
    make_vehicle(site, "苏D12345", stage="5")
    make_vehicle(site, "苏E40000", stage="4", state="pending")
    ListEntry.objects.create(site=site, kind="black", plate="冀B7K2Q9", reason="超载")
    secret = ApiToken.issue(name="sim", site=site, purpose="camera")[1]
    out = StringIO()
    call_command("camera_sim", url=live_server.url, token=secret, rate=0, count=40, seed=7, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("sent 40 pushes")
    assert all("HTTP 200" in line for line in lines[:-1]), lines
    repeats = sum("repeat" in line for line in lines)
    offline = sum("offline replay" in line for line in lines)
    assert repeats and offline
    wait_for_writes(40 - repeats)
    assert Passage.objects.count() == 40 - repeats
    assert CameraEvent.objects.count() == 40 - repeats
    assert {p.camera.protocol for p in Passage.objects.select_related("camera")} == {"zhenshi", "hikvision"}
    assert Passage.objects.filter(direction="out", paired_id__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_named_cameras_and_plates_need_no_local_database(live_server, site, monkeypatch):
    from django.db import DatabaseError
    from django.core.management.base import CommandError

    from greenledger.gate.management.commands import camera_sim

    load_defaults()
    make_gate(site, code="main")
    make_vehicle(site, "苏D12345", stage="6")
    secret = ApiToken.issue(name="sim", site=site, purpose="camera")[1]

    def unreadable(codes):
        raise DatabaseError("no such table: gate_camera")

    monkeypatch.setattr(camera_sim, "local_cameras", unreadable)  # e.g. a remote server's gate
    with pytest.raises(CommandError, match="--protocol"):
        call_command("camera_sim", url=live_server.url, token=secret, rate=0, count=1, stdout=StringIO())
    out = StringIO()
    call_command("camera_sim", url=live_server.url, token=secret, rate=0, count=3, seed=1, stdout=out,
                 cameras=[f"{site.code}-main-in"], protocol="zhenshi", direction="in", plates=["苏D12345:yellow"])
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("sent 3 pushes") and all("HTTP 200" in line for line in lines[:-1]), lines
    stored = 3 - sum("repeat" in line for line in lines)
    wait_for_writes(stored)
    assert CameraEvent.objects.count() == stored
    assert set(Passage.objects.values_list("plate", flat=True)) == {"苏D12345"}
    with pytest.raises(CommandError, match="PLATE:COLOUR"):
        call_command("camera_sim", url=live_server.url, token=secret, cameras=["x"], protocol="zhenshi",
                     plates=["苏D12345:purple"], stdout=StringIO())
