"""Registry API: same checks and error format as the pages, site scope, plate look-up."""

import pytest

from greenledger.core.models import ApiToken
from greenledger.gate.models import Machine, Vehicle

from .factories import make_vehicle

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # the tests check English wording
GOOD_VIN = "LFV2A21K257000008"


@pytest.fixture
def manager(client, site, role_user):
    user = role_user("environmental_manager", site, "env")
    client.force_login(user)
    return user


def post(client, path, body, **headers):
    return client.post(f"/api/gate/{path}", body, content_type="application/json", **headers)


def test_create_a_vehicle_with_words_for_codes(client, manager, site):
    response = post(client, "vehicles", {"plate": "苏d12345", "plate_color": "黄色", "vin": GOOD_VIN, "fuel": "柴油",
                                         "stage": "国六", "category": "N3"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "pending" and body["ledger"]["plate"] == "苏D12345" and body["ledger"]["stage"] == "6"
    assert Vehicle.objects.get().source == "office"


def test_errors_come_in_the_common_format(client, manager, site):
    response = post(client, "vehicles", {"plate": "苏D1234", "plate_color": "yellow", "vin": "123", "fuel": "coal"})
    assert response.status_code == 422
    errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert ("plate", "pattern") in errors and ("vin", "length") in errors and ("fuel", "invalid_choice") in errors
    assert not Vehicle.objects.exists()


def test_warnings_need_confirm(client, manager, site):
    body = {"plate": "苏D12345", "plate_color": "yellow", "vin": "LFV2A21K057000008"}
    response = post(client, "vehicles", body)
    assert response.status_code == 409
    assert response.json()["errors"][0] == {"field": "vin", "rule": "confirm",
                                            "message": response.json()["errors"][0]["message"]}
    assert post(client, "vehicles", {**body, "confirm": True}).status_code == 201


def test_site_outside_the_scope_is_refused(client, manager, site, other_site):
    response = post(client, "machines", {"site": other_site.code, "registration_code": "NR-1", "machine_type": "叉车"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "site"
    assert not Machine.objects.exists()


def test_machine_stage_words_mean_non_road_stages(client, manager, site):
    response = post(client, "machines", {"registration_code": "NR-1", "machine_type": "叉车", "stage": "国四",
                                         "machine_code": "CN4LD123456789012"})
    assert response.status_code == 201 and response.json()["ledger"]["stage"] == "nr4"


def test_list_and_get_are_scoped(client, manager, site, other_site):
    mine = make_vehicle(site, "苏D12345")
    theirs = make_vehicle(other_site, "浙A12345")
    plates = [v["ledger"]["plate"] for v in client.get("/api/gate/vehicles").json()]
    assert plates == ["苏D12345"]
    assert client.get(f"/api/gate/vehicles/{mine.pk}").status_code == 200
    assert client.get(f"/api/gate/vehicles/{theirs.pk}").status_code == 404


def test_lookup_by_plate_returns_the_ledger_fields(client, manager, site):
    make_vehicle(site, "苏D12345", vin=GOOD_VIN)
    body = client.get("/api/gate/registry/lookup", {"plate": "苏D12345", "plate_color": "yellow"}).json()
    assert body["kind"] == "road" and body["entry"]["ledger"]["vin"] == GOOD_VIN
    assert client.get("/api/gate/registry/lookup", {"plate": "苏Z99999"}).json() == {"kind": "unknown", "entry": None}


def test_review_through_the_api(client, manager, site):
    vehicle = make_vehicle(site, state="pending")
    response = post(client, f"vehicles/{vehicle.pk}/review", {"approve": False})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "note"
    assert post(client, f"vehicles/{vehicle.pk}/review", {"approve": True}).json()["state"] == "approved"


def test_integration_token_writes_into_its_own_site_as_import(client, site):
    _token, key = ApiToken.issue(name="ERP", site=site, purpose="integration")
    response = post(client, "vehicles", {"plate": "苏D12345", "plate_color": "yellow"},
                    HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 201 and Vehicle.objects.get().source == "import"


def test_camera_token_may_read_but_not_write(client, site):
    make_vehicle(site, "苏D12345")
    _token, key = ApiToken.issue(name="cam", site=site, purpose="camera")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/gate/registry/lookup", {"plate": "苏D12345"}, **auth).json()["kind"] == "road"
    assert post(client, "vehicles", {"plate": "苏D54321"}, **auth).status_code == 403


def test_user_without_permission_is_refused(client, site, role_user):
    client.force_login(role_user("operator", site))
    assert client.get("/api/gate/vehicles").status_code == 403
