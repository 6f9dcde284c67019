"""Queueing with the record, delivery in order, receipts, images after passages, rejections, tokens, signatures."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from greenledger.core.attachments import attach
from greenledger.core.demo import tiny_png
from greenledger.evidence.models import AppendOnlyError
from greenledger.evidence.services import leaf_of
from greenledger.gate.models import Passage
from greenledger.gate.tests.factories import make_vehicle
from greenledger.uplink import signing
from greenledger.uplink.models import Circuit, CircuitState, Kind, OutboxItem, State, UplinkReceipt
from greenledger.uplink.outbox import resend
from greenledger.uplink.worker import Worker, backoff

from .builders import make_passage, make_platform, start_simulator

pytestmark = pytest.mark.django_db


def test_a_passage_is_queued_once_per_enabled_platform(site, simulator, tmp_path, monkeypatch):
    first = make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, code="city")
    make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, code="province")
    make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, code="off", enabled=False)
    passage = make_passage(site)
    items = OutboxItem.objects.filter(record_id=str(passage.pk))
    assert sorted(i.platform.code for i in items) == ["city", "province"]
    assert {i.state for i in items} == {State.QUEUED}
    assert items.get(platform=first).produced_at == passage.recorded_at


def test_a_passage_rolled_back_leaves_nothing_to_send(site, platform):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            make_passage(site)
            raise RuntimeError("camera intake failed later in the transaction")
    assert not OutboxItem.objects.exists()
    assert not Passage.objects.exists()


def test_worker_delivers_in_order_and_seals_a_receipt_per_record(site, platform, simulator):
    passages = [make_passage(site) for _ in range(5)]
    assert Worker("w1").run_once() == {"acked": 5, "dead": 0, "failed": 0}
    assert simulator.state.order == [str(p.pk) for p in passages]
    receipts = UplinkReceipt.objects.order_by("receipt_id")
    assert [r.record_id for r in receipts] == [str(p.pk) for p in passages]
    assert leaf_of(receipts[0]) is not None
    with pytest.raises(AppendOnlyError):
        receipts[0].delete()
    item = OutboxItem.objects.get(record_id=str(passages[0].pk))
    assert item.state == State.ACKED and item.receipt_id == receipts[0].receipt_id and item.backfilled is False
    sent = simulator.state.records[("GL-TEST", str(passages[0].pk))]
    assert sent["data"]["carColour"] == "2" and sent["data"]["passType"] == "1" and sent["uploadType"] == "1"
    assert item.payload == sent["data"]  # the body sent is kept with its acknowledgement


def test_queueing_an_image_does_not_read_its_passage_again(site, platform):
    passage = make_passage(site)
    with CaptureQueriesContext(connection) as queries:
        attach(passage, ContentFile(tiny_png(), name="plate.png"), caption="plate")
    assert OutboxItem.objects.filter(kind=Kind.PASSAGE_IMAGE, after__record_id=str(passage.pk)).count() == 1
    assert not [q["sql"] for q in queries.captured_queries if 'FROM "gate_passage"' in q["sql"]]


def test_snapshots_attached_with_their_passage_reuse_its_queue_lookups(site, platform):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        passage = make_passage(site)
        for caption in ("plate", "scene"):
            attach(passage, ContentFile(tiny_png(), name=f"{caption}.png"), caption=caption)
    images = OutboxItem.objects.filter(kind=Kind.PASSAGE_IMAGE)
    assert images.count() == 2 and {i.after.record_id for i in images} == {str(passage.pk)}
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len([sql for sql in reads if 'FROM "uplink_platform"' in sql]) == 1  # once, for the passage
    assert not [sql for sql in reads if 'FROM "uplink_outboxitem"' in sql]


def test_an_image_waits_for_its_passage_and_goes_after_it(site, platform, simulator):
    with transaction.atomic():
        passage = make_passage(site)
        image = attach(passage, ContentFile(tiny_png(), name="plate.png"), caption="plate")
    image_item = OutboxItem.objects.get(kind=Kind.PASSAGE_IMAGE)
    assert image_item.after.record_id == str(passage.pk)
    Worker("w1").run_once()
    Worker("w1").run_once()
    assert simulator.state.order == [str(passage.pk), str(image.pk)]
    sent = simulator.state.records[("GL-TEST", str(image.pk))]["data"]
    assert sent["passRecordId"] == str(passage.pk) and sent["content"]


def test_a_rejected_field_is_a_dead_letter_with_the_platform_message_and_can_be_fixed(site, platform, simulator,
                                                                                        django_user_model):
    simulator.state.switches["reject"] = {"carNo": "苏D00001"}
    bad = make_passage(site, plate="苏D00001")
    good = make_passage(site)
    assert Worker("w1").run_once() == {"acked": 1, "dead": 1, "failed": 0}
    dead = OutboxItem.objects.get(record_id=str(bad.pk))
    assert dead.state == State.DEAD
    assert "carNo" in dead.last_error and "refused" in dead.last_error
    assert OutboxItem.objects.get(record_id=str(good.pk)).state == State.ACKED
    manager = django_user_model.objects.create_user("env-fixer")
    resend(dead, payload={**dead.payload, "carNo": "苏D00002"}, user=manager)
    Worker("w1").run_once()
    dead.refresh_from_db()
    assert dead.state == State.ACKED and dead.payload_edited_by == manager
    assert simulator.state.records[("GL-TEST", str(bad.pk))]["data"]["carNo"] == "苏D00002"


def test_an_unmapped_code_is_rejected_naming_the_field(site, platform, simulator):
    platform.code_tables = {"plate_color": {"yellow": "Y"}}
    platform.save()
    passage = make_passage(site)
    Worker("w1").run_once()
    item = OutboxItem.objects.get(record_id=str(passage.pk))
    assert item.state == State.DEAD and item.last_error.startswith("carColour")


def test_an_expired_token_is_renewed_without_losing_the_record(site, platform, simulator):
    worker = Worker("w1")
    make_passage(site)
    worker.run_once()
    simulator.state.tokens = {t: (a, 0) for t, (a, _e) in simulator.state.tokens.items()}
    second = make_passage(site)
    assert worker.run_once()["acked"] == 1
    assert OutboxItem.objects.get(record_id=str(second.pk)).state == State.ACKED


def test_a_wrong_signing_key_keeps_records_queued_and_opens_the_circuit(site, simulator, tmp_path, monkeypatch):
    platform = make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch)
    other_key, _public = signing.new_rsa_keypair(1024)
    (tmp_path / "wrong.pem").write_text(other_key)
    platform.private_key_ref = f"file:{tmp_path / 'wrong.pem'}"
    platform.save()
    passage = make_passage(site)
    assert Worker("w1").run_once()["failed"] == 1
    item = OutboxItem.objects.get(record_id=str(passage.pk))
    circuit = CircuitState.objects.get(platform=platform)
    assert item.state == State.QUEUED  # the heartbeat found it out first: nothing was even tried
    assert circuit.state == Circuit.OPEN and "SIGN_INVALID" in circuit.last_error
    assert not simulator.state.records


def test_a_reply_with_a_bad_signature_is_not_believed(site, platform, simulator):
    worker = Worker("w1")
    worker.run_once()  # token and heartbeat while replies are still good
    simulator.state.switches["bad_reply_signature"] = True
    passage = make_passage(site)
    worker.run_once()
    item = OutboxItem.objects.get(record_id=str(passage.pk))
    assert item.state == State.QUEUED and "signature" in item.last_error
    simulator.state.switches["bad_reply_signature"] = False
    later = timezone.now() + timedelta(hours=1)
    worker.run_once(now=later)
    item.refresh_from_db()
    assert item.state == State.ACKED and item.backfilled is True
    assert simulator.state.duplicates == 1  # the platform had it from the unbelieved reply: stored once


def test_sm2_profile_signs_and_verifies_with_sm3(site, tmp_path, monkeypatch):
    simulator = start_simulator(signing.SM2)
    try:
        make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, sign_type=signing.SM2)
        passage = make_passage(site)
        assert Worker("w1").run_once()["acked"] == 1
        assert simulator.state.order == [str(passage.pk)]
    finally:
        simulator.stop()


def test_approved_registrations_are_reported_pending_ones_are_not(site, platform, simulator):
    pending = make_vehicle(site, "苏D11111", state="pending")
    assert not OutboxItem.objects.filter(kind=Kind.VEHICLE).exists()
    pending.state = "approved"
    pending.save()
    pending.owner = "新车主"
    pending.save()  # folded into the change still waiting
    assert OutboxItem.objects.filter(kind=Kind.VEHICLE).count() == 1
    Worker("w1").run_once()
    sent = next(r for (_a, rid), r in simulator.state.records.items() if rid.startswith(f"{pending.pk}@"))
    assert sent["data"]["owner"] == "新车主" and sent["data"]["carNo"] == "苏D11111"


def test_a_claim_whose_lease_ran_out_is_taken_again(site, platform, simulator):
    from greenledger.uplink.worker import claim

    make_passage(site)
    now = timezone.now()
    assert len(claim(platform, 10, now, "crashed")) == 1
    assert claim(platform, 10, now + timedelta(seconds=30), "other") == []
    taken = claim(platform, 10, now + timedelta(minutes=5), "other")
    assert len(taken) == 1 and taken[0].claimed_by == "other"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff(1, rng=lambda: 0.0) == timedelta(seconds=2.5)
    assert backoff(1, rng=lambda: 1.0) == timedelta(seconds=5)
    assert backoff(4, rng=lambda: 1.0) == timedelta(seconds=40)
    assert backoff(30, rng=lambda: 1.0) == timedelta(seconds=600)
