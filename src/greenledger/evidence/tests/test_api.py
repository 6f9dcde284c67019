"""The evidence API at /api/evidence/: proofs an outsider can check, lookups, checkpoints, permissions."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client

from greenledger.evidence import merkle, services, verify
from greenledger.evidence.models import Checkpoint

from . import rfc6962

API = "/api/evidence"


@pytest.fixture
def admin_client(django_user_model):
    user = django_user_model.objects.create_superuser("evidence-admin", "admin@example.cn", "x-Long-pass-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def records(make_attachment):
    return [make_attachment() for _ in range(11)]


def independent_root(proof):
    """Root from the record bytes and audit path, using only the naive reference."""
    return rfc6962.root_from_path(
        proof["record_json"].encode(),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
    )


def test_proof_of_a_record_checks_out_independently(admin_client, records):
    assert admin_client.post(f"{API}/checkpoints").status_code == 201
    found = admin_client.get(f"{API}/records", {"table": "core.attachment", "id": str(records[6].pk)}).json()
    response = admin_client.get(f"{API}/records/{found['leaf_index']}/proof")
    assert response.status_code == 200
    proof = response.json()
    assert proof["matches"] is True
    assert proof["table"] == "core.attachment" and proof["id"] == str(records[6].pk)
    assert proof["record"]["data"]["original_name"] == records[6].original_name
    assert proof["tree_size"] == services.tree_size()
    assert independent_root(proof).hex() == proof["root_hash"]
    checkpoint = proof["checkpoint"]
    assert checkpoint["root_hash"] == proof["root_hash"] and checkpoint["public_key_pem"]
    assert verify.verify_proof(proof)[0] == []


def test_proof_for_a_changed_record_fails(admin_client, records):
    admin_client.post(f"{API}/checkpoints")
    victim = records[4]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_attachment SET caption = %s WHERE id = %s",
            ["altered", victim._meta.pk.get_db_prep_value(victim.pk, connection)],
        )
    index = admin_client.get(f"{API}/records", {"table": "core.attachment", "id": str(victim.pk)}).json()[
        "leaf_index"
    ]
    proof = admin_client.get(f"{API}/records/{index}/proof").json()
    assert proof["matches"] is False
    assert proof["record"]["data"]["caption"] == "altered"
    assert independent_root(proof).hex() != proof["root_hash"]
    assert verify.verify_proof(proof)[0]


def test_proof_at_an_older_tree_size(admin_client, records):
    proof = admin_client.get(f"{API}/records/3/proof", {"tree_size": 5}).json()
    assert proof["tree_size"] == 5 and proof["checkpoint"] is None
    assert independent_root(proof).hex() == proof["root_hash"]
    assert admin_client.get(f"{API}/records/7/proof", {"tree_size": 5}).status_code == 422
    assert admin_client.get(f"{API}/records/3/proof", {"tree_size": 50}).status_code == 422


def test_unknown_leaf_and_record_are_404_in_the_project_error_format(admin_client, records):
    response = admin_client.get(f"{API}/records/999/proof")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "index"
    response = admin_client.get(f"{API}/records", {"table": "core.attachment", "id": "nope"})
    assert response.status_code == 404
    assert set(response.json()["errors"][0]) == {"field", "rule", "message"}


def test_checkpoints_latest_and_post(admin_client, records):
    assert admin_client.get(f"{API}/checkpoints/latest").status_code == 404
    created = admin_client.post(f"{API}/checkpoints")
    assert created.status_code == 201
    again = admin_client.post(f"{API}/checkpoints")
    assert again.status_code == 200 and again.json() == created.json()
    latest = admin_client.get(f"{API}/checkpoints/latest").json()
    size = services.tree_size()  # the records plus the superuser's sealed audit entry
    assert latest["tree_size"] == size
    assert (
        latest["message"]
        == f"greenledger-evidence/v1\n{size}\n{latest['root_hash']}\n{latest['created_at']}\n"
    )
    assert Checkpoint.objects.count() == 1


def test_consistency_between_two_sizes(admin_client, records):
    answer = admin_client.get(f"{API}/consistency", {"from": 6, "to": 11}).json()
    assert answer["from_size"] == 6 and answer["to_size"] == 11
    proof = [bytes.fromhex(h) for h in answer["proof"]]
    assert merkle.verify_consistency(
        6, 11, bytes.fromhex(answer["from_root"]), bytes.fromhex(answer["to_root"]), proof
    )
    assert not merkle.verify_consistency(
        6, 11, bytes.fromhex(answer["to_root"]), bytes.fromhex(answer["to_root"]), proof
    )
    assert admin_client.get(f"{API}/consistency", {"from": 9, "to": 3}).status_code == 422
    assert admin_client.get(f"{API}/consistency", {"from": 1, "to": 99}).status_code == 422


def test_reading_needs_the_view_permission(django_user_model, records):
    user = django_user_model.objects.create_user("reader", password="x-Long-pass-123")
    client = Client()
    client.force_login(user)
    assert client.get(f"{API}/records/0/proof").status_code == 403
    assert client.post(f"{API}/checkpoints").status_code == 403
    user.user_permissions.add(
        Permission.objects.get(codename="view_leaf", content_type__app_label="evidence")
    )
    client.force_login(django_user_model.objects.get(pk=user.pk))
    assert client.get(f"{API}/records/0/proof").status_code == 200
    assert client.post(f"{API}/checkpoints").status_code == 403


def test_taking_a_checkpoint_needs_the_add_permission(django_user_model, records):
    user = django_user_model.objects.create_user("signer", password="x-Long-pass-123")
    user.user_permissions.add(
        Permission.objects.get(codename="add_checkpoint", content_type__app_label="evidence")
    )
    client = Client()
    client.force_login(user)
    assert client.post(f"{API}/checkpoints").status_code == 201


def test_anonymous_requests_are_refused(db, records):
    assert Client().get(f"{API}/checkpoints/latest").status_code == 401


def test_overview_page(admin_client, records):
    admin_client.post(f"{API}/checkpoints")
    page = admin_client.get("/evidence/", {"table": "core.attachment", "id": str(records[0].pk)})
    assert page.status_code == 200
    index = services.find_leaf("core.attachment", str(records[0].pk)).index
    assert (
        b"core.attachment" in page.content and f"/api/evidence/records/{index}/proof".encode() in page.content
    )
    response = admin_client.post("/evidence/checkpoint/")
    assert response.status_code == 302


def test_admin_shows_leaves_and_checkpoints_read_only(admin_client, records):
    admin_client.post(f"{API}/checkpoints")
    assert admin_client.get("/admin/evidence/leaf/").status_code == 200
    assert admin_client.get("/admin/evidence/checkpoint/").status_code == 200
    assert admin_client.get("/admin/evidence/leaf/add/").status_code == 403


def test_openapi_schema_lists_the_evidence_endpoints():
    from greenledger.api import api

    paths = api.get_openapi_schema()["paths"]
    assert "/api/evidence/records/{index}/proof" in paths
    assert "post" in paths["/api/evidence/checkpoints"]
