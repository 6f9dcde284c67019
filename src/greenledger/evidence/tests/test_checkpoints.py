"""Signed checkpoints: the key lives outside the database, signatures verify, alterations do not."""

import io
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command

from greenledger.evidence import canonical, keys, services, tree


def test_key_is_created_on_first_use_with_private_mode(evidence_key):
    assert not evidence_key.exists()
    keys.private_key()
    assert evidence_key.exists()
    assert stat.S_IMODE(evidence_key.stat().st_mode) == 0o600
    assert len(keys.key_id()) == 16
    assert keys.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")


def test_checkpoint_signature_verifies_with_the_public_key(make_attachment):
    make_attachment()
    make_attachment()
    checkpoint, created = services.take_checkpoint()
    assert created
    assert checkpoint.tree_size == 2
    assert checkpoint.root_hash == tree.root_hash(2).hex()
    public = serialization.load_pem_public_key(keys.public_key_pem().encode())
    message = (
        "greenledger-evidence/v1\n2\n"
        f"{checkpoint.root_hash}\n{canonical.format_datetime(checkpoint.created_at)}\n"
    ).encode()
    public.verify(bytes.fromhex(checkpoint.signature), message)  # raises when wrong
    assert services.checkpoint_signature_valid(checkpoint)


def test_altered_checkpoint_fails_verification(make_attachment):
    make_attachment()
    checkpoint, _ = services.take_checkpoint()
    checkpoint.root_hash = "0" * 64
    assert not services.checkpoint_signature_valid(checkpoint)
    checkpoint.refresh_from_db()
    checkpoint.signature = ("00" if checkpoint.signature[:2] != "00" else "11") + checkpoint.signature[2:]
    assert not services.checkpoint_signature_valid(checkpoint)


def test_checkpoint_is_signed_only_when_the_tree_grew(make_attachment):
    first, created = services.take_checkpoint()
    assert created and first.tree_size == 0
    again, created = services.take_checkpoint()
    assert not created and again.pk == first.pk
    make_attachment()
    grown, created = services.take_checkpoint()
    assert created and grown.tree_size == 1
    forced, created = services.take_checkpoint(force=True)
    assert created and forced.pk != grown.pk


def test_checkpoint_command_signs_and_reports(make_attachment):
    make_attachment()
    out = io.StringIO()
    call_command("evidence_checkpoint", stdout=out)
    call_command("evidence_checkpoint", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("signed: checkpoint size 1")
    assert lines[1].startswith("unchanged: checkpoint size 1")


def test_checkpoint_command_loops_with_every(make_attachment, monkeypatch):
    rounds = []

    def fake_sleep(seconds):
        rounds.append(seconds)
        if len(rounds) == 1:
            make_attachment()
        if len(rounds) == 3:
            raise KeyboardInterrupt

    command = "greenledger.evidence.management.commands.evidence_checkpoint"
    monkeypatch.setattr(f"{command}.time.sleep", fake_sleep)
    # The test's transaction looks like a stale connection to close_old_connections().
    monkeypatch.setattr(f"{command}.close_old_connections", lambda: None)
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("evidence_checkpoint", "--every", "60", stdout=out)
    states = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert states == ["signed", "signed", "unchanged"]
    assert rounds == [60.0, 60.0, 60.0]
