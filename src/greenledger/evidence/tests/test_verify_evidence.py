"""``verify-evidence`` names rows changed, deleted or inserted behind the application's back."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from greenledger.evidence import services
from greenledger.evidence.models import Checkpoint, Leaf, Node, node_key


def run_verify():
    out = io.StringIO()
    try:
        call_command("verify_evidence", stdout=out)
    except CommandError as error:
        return False, out.getvalue(), str(error)
    return True, out.getvalue(), ""


def raw_sql(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def db_pk(instance):
    """The primary key as the database stores it (UUIDs are hex text on SQLite, uuid on PostgreSQL)."""
    return instance._meta.pk.get_db_prep_value(instance.pk, connection)


@pytest.fixture
def sealed_attachments(make_attachment):
    records = [make_attachment() for _ in range(7)]
    services.take_checkpoint()
    return records


def test_untouched_log_verifies(sealed_attachments):
    ok, out, _ = run_verify()
    assert ok, out
    assert "OK: 7 leaves" in out
    assert "core.attachment 7" in out
    assert "signature OK" in out


def test_empty_log_verifies(db):
    ok, out, _ = run_verify()
    assert ok, out
    assert "OK: 0 leaves" in out


def test_row_changed_by_raw_sql_is_named(sealed_attachments):
    victim = sealed_attachments[3]
    raw_sql("UPDATE core_attachment SET caption = %s WHERE id = %s", ["nothing to see", db_pk(victim)])
    ok, out, error = run_verify()
    assert not ok
    assert f"CHANGED core.attachment id={victim.pk}" in out
    assert out.count("FAIL") == 1
    assert "1 problem" in error


def test_deleted_row_is_named(sealed_attachments):
    victim = sealed_attachments[0]
    raw_sql("DELETE FROM core_attachment WHERE id = %s", [db_pk(victim)])
    ok, out, _ = run_verify()
    assert not ok
    assert f"DELETED core.attachment id={victim.pk}" in out


def test_row_inserted_without_a_leaf_is_named(sealed_attachments):
    from greenledger.core.models import Attachment

    template = sealed_attachments[0]
    # the plain manager's bulk_create skips save(): exactly what a script writing behind the
    # application's back does (the default manager refuses it)
    [intruder] = Attachment._base_manager.bulk_create(
        [
            Attachment(
                content_type=template.content_type,
                object_id="x",
                file="attachments/forged.jpg",
                original_name="forged.jpg",
                mime_type="image/jpeg",
                size=1,
                sha256="0" * 64,
                kind="photo",
            )
        ]
    )
    ok, out, _ = run_verify()
    assert not ok
    assert f"UNSEALED core.attachment id={intruder.pk}" in out


def test_rewritten_leaf_breaks_the_signed_root(sealed_attachments):
    victim = sealed_attachments[2]
    raw_sql("UPDATE core_attachment SET caption = %s WHERE id = %s", ["rewritten", db_pk(victim)])
    # A careful forger also rewrites the leaf hash: the signed checkpoint still catches it.
    from greenledger.evidence import canonical, merkle

    forged = merkle.leaf_hash(canonical.read_record(type(victim), victim.pk))
    raw_sql("UPDATE evidence_leaf SET leaf_hash = %s WHERE record_id = %s", [forged, str(victim.pk)])
    ok, out, _ = run_verify()
    assert not ok
    assert "CHANGED" not in out
    assert "CHECKPOINT" in out and "signed root is" in out


def test_tampered_checkpoint_signature_is_reported(sealed_attachments):
    checkpoint = Checkpoint.objects.get()
    Checkpoint.objects.filter(pk=checkpoint.pk).update(tree_size=6)
    ok, out, _ = run_verify()
    assert not ok
    assert "signature does not verify" in out


def test_tampered_stored_node_is_reported(sealed_attachments):
    Node.objects.filter(id=node_key(1, 1)).update(hash=b"\x00" * 32)
    ok, out, _ = run_verify()
    assert not ok
    assert "NODE" in out and "level 1, index 1" in out


def test_removed_leaf_is_reported(sealed_attachments):
    Leaf.objects.filter(index=6)._raw_delete(Leaf.objects.db)
    ok, out, _ = run_verify()
    assert not ok
    assert f"UNSEALED core.attachment id={sealed_attachments[6].pk}" in out
    assert "larger than the log" in out


def test_several_problems_are_all_listed(sealed_attachments):
    raw_sql("UPDATE core_attachment SET size = size + 1 WHERE id = %s", [db_pk(sealed_attachments[1])])
    raw_sql("DELETE FROM core_attachment WHERE id = %s", [db_pk(sealed_attachments[5])])
    ok, out, error = run_verify()
    assert not ok
    assert f"CHANGED core.attachment id={sealed_attachments[1].pk}" in out
    assert f"DELETED core.attachment id={sealed_attachments[5].pk}" in out
    assert "2 problem" in error


def test_command_line_exits_non_zero(sealed_attachments):
    raw_sql("DELETE FROM core_attachment WHERE id = %s", [db_pk(sealed_attachments[0])])
    with pytest.raises(SystemExit) as exit_info:
        from greenledger.__main__ import main

        main(["greenledger", "verify-evidence"])
    assert exit_info.value.code != 0
