"""Ledger records are sealed in the inserting transaction and can never be changed through the ORM."""

import datetime
import decimal
import json
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from greenledger.evidence import canonical, merkle, registry, services, tree
from greenledger.evidence.models import AppendOnlyError, Checkpoint, Leaf


def test_saving_an_attachment_seals_it(make_attachment):
    attachment = make_attachment()
    leaf = Leaf.objects.get(table="core.attachment", record_id=str(attachment.pk))
    record = canonical.read_record(type(attachment), attachment.pk)
    assert bytes(leaf.leaf_hash) == merkle.leaf_hash(record)
    assert services.tree_size() == leaf.index + 1


def test_canonical_record_has_the_documented_shape(make_attachment):
    attachment = make_attachment(original_name="排放口.jpg")
    raw = canonical.read_record(type(attachment), attachment.pk)
    record = json.loads(raw)
    assert raw == json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert record["table"] == "core.attachment"
    assert record["id"] == str(attachment.pk)
    assert record["data"]["original_name"] == "排放口.jpg"
    assert "排放口".encode() in raw
    assert record["data"]["content_type_id"] == attachment.content_type_id
    assert record["data"]["file"] == attachment.file.name
    assert record["data"]["occurred_at"].endswith("Z") and len(record["data"]["occurred_at"]) == 27


def test_value_normalisation_is_backend_independent():
    price = models.DecimalField(max_digits=10, decimal_places=3)
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    moment = datetime.datetime(2026, 11, 30, 11, 27, 6, 123456, tzinfo=shanghai)
    assert canonical.normalise(price, decimal.Decimal("12.5")) == "12.500"
    assert canonical.normalise(None, moment) == "2026-11-30T03:27:06.123456Z"
    assert canonical.normalise(None, moment.replace(microsecond=0)) == "2026-11-30T03:27:06.000000Z"
    assert canonical.normalise(None, datetime.date(2026, 1, 2)) == "2026-01-02"
    assert canonical.normalise(None, uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert canonical.normalise(None, memoryview(b"\x01\xff")) == "01ff"
    assert canonical.normalise(None, datetime.timedelta(seconds=1, microseconds=5)) == 1_000_005
    assert canonical.normalise(None, float("nan")) == "NaN"
    assert canonical.normalise(models.JSONField(), {"b": [1, 2.5]}) == {"b": [1, 2.5]}


def test_sealed_record_cannot_be_updated(make_attachment):
    attachment = make_attachment()
    attachment.caption = "changed"
    with pytest.raises(AppendOnlyError):
        attachment.save()


def test_sealed_record_cannot_be_deleted(make_attachment):
    attachment = make_attachment()
    with pytest.raises(AppendOnlyError):
        attachment.delete()


def test_the_orm_bulk_paths_refuse_sealed_records_too(make_attachment):
    from greenledger.core.models import Attachment

    attachment = make_attachment()
    before = canonical.read_record(Attachment, attachment.pk)
    rows = Attachment.objects.filter(pk=attachment.pk)
    with pytest.raises(AppendOnlyError):
        rows.update(caption="changed")
    with pytest.raises(AppendOnlyError):
        rows.delete()
    attachment.caption = "changed"
    with pytest.raises(AppendOnlyError):
        Attachment.objects.bulk_update([attachment], ["caption"])
    with pytest.raises(AppendOnlyError):
        Attachment.objects.bulk_create([Attachment(caption="unsealed", content_type=attachment.content_type,
                                                   object_id=attachment.object_id)])
    assert canonical.read_record(Attachment, attachment.pk) == before
    assert Attachment.objects.count() == 1


def test_derived_columns_may_still_be_updated_in_bulk(site):
    from greenledger.gate.models import Passage
    from greenledger.gate.services import record_passage
    from greenledger.gate.tests.factories import make_gate

    lane = make_gate(site).lanes.first()
    passage = record_passage(lane=lane, plate="苏D12345", plate_color="yellow", direction=lane.direction,
                             occurred_at=timezone.now())
    Passage.objects.filter(pk=passage.pk).update(dwell_seconds=60, final_decision="pass")  # derived: allowed
    assert Passage.objects.get(pk=passage.pk).dwell_seconds == 60
    with pytest.raises(AppendOnlyError):
        Passage.objects.filter(pk=passage.pk).update(plate="苏D99999")
    assert Passage.objects.get(pk=passage.pk).plate == "苏D12345"


def test_log_rows_cannot_be_changed_or_deleted(make_attachment):
    make_attachment()
    leaf = Leaf.objects.get()
    with pytest.raises(AppendOnlyError):
        leaf.save()
    with pytest.raises(AppendOnlyError):
        leaf.delete()
    checkpoint, _ = services.take_checkpoint()
    with pytest.raises(AppendOnlyError):
        checkpoint.delete()


def test_a_failed_seal_rolls_the_record_back(make_attachment, monkeypatch):
    from greenledger.core.models import Attachment

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tree, "append_leaves", broken)
    with pytest.raises(RuntimeError), transaction.atomic():  # the caller's transaction goes with it
        make_attachment()
    assert not Attachment.objects.exists()
    assert not Leaf.objects.exists()


def test_any_row_can_be_sealed_once(db):
    group = Group.objects.create(name="sealed by hand")
    with transaction.atomic():
        leaf = services.seal(group)
    assert services.find_leaf("auth.group", str(group.pk)).index == leaf.index
    size = services.tree_size()  # the group's audit entry (core audits groups) is sealed too
    with pytest.raises(IntegrityError), transaction.atomic():
        services.seal(group)
    assert services.tree_size() == size
    assert Leaf.objects.filter(table="auth.group").count() == 1


def test_sealed_models_register_themselves():
    labels = registry.sealed_models()
    assert "core.attachment" in labels
    assert "core.auditentry" in labels


def test_register_adds_third_party_tables():
    registry.register(Group)
    try:
        assert registry.is_registered(Group)
    finally:
        registry.unregister(Group)


def test_log_summary_counts_tables_and_days(make_attachment):
    for _ in range(3):
        make_attachment()
    services.take_checkpoint()
    summary = services.log_summary()
    assert summary["tree_size"] == 3
    assert ("core.attachment", 3) in summary["per_table"]
    assert len(summary["per_day"]) == 30
    assert summary["per_day"][-1][1] == 3
    assert isinstance(summary["latest_checkpoint"], Checkpoint)
    assert summary["latest_checkpoint"].tree_size == 3


# available_apps makes the teardown flush cascade: auditlog's own (swapped-out) log table still
# references auth_user on PostgreSQL, and a plain TRUNCATE refuses that.
@pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS))
def test_concurrent_writers_build_one_consistent_tree(make_attachment):
    """Writers in parallel threads (each with its own connection) serialise on the log head."""
    import threading

    from django.db import connection

    from greenledger.evidence import verification

    errors = []

    def write():
        try:
            for _ in range(15):
                make_attachment()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(Leaf.objects.values_list("index", flat=True)) == list(range(60))
    report = verification.verify_log()
    assert report.ok, [str(p) for p in report.problems]


def test_rows_sealed_together_get_the_same_leaves_in_order_under_one_head_lock(make_attachment):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    one_by_one = make_attachment()
    with CaptureQueriesContext(connection) as queries, services.sealing_together():
        together = [make_attachment() for _ in range(3)]
        assert not Leaf.objects.filter(record_id__in=[str(a.pk) for a in together]).exists()  # not yet
    leaves = list(Leaf.objects.filter(table="core.attachment").order_by("index"))
    assert [leaf.record_id for leaf in leaves] == [str(a.pk) for a in [one_by_one, *together]]
    for attachment, leaf in zip([one_by_one, *together], leaves):
        assert bytes(leaf.leaf_hash) == merkle.leaf_hash(canonical.read_record(type(attachment), attachment.pk))
    head_locks = [q["sql"] for q in queries.captured_queries if "evidence_loghead" in q["sql"] and
                  q["sql"].startswith("SELECT")]
    assert len(head_locks) == 1
    assert services.tree_size() == leaves[-1].index + 1


def test_rows_sealed_together_roll_back_with_their_leaves(make_attachment):
    size = services.tree_size()
    with pytest.raises(RuntimeError), transaction.atomic(), services.sealing_together():
        make_attachment()
        raise RuntimeError("the push failed after its first row")
    assert services.tree_size() == size and not Leaf.objects.filter(index__gte=size).exists()
    make_attachment()  # sealing one by one again once the block is over
    assert services.tree_size() == size + 1
