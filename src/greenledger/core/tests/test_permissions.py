"""Each role reaches what it should and gets 403 elsewhere; object scope follows the site."""

import pytest
from django.urls import reverse

from greenledger.core.models import ApiToken, Equipment
from greenledger.core.roles import ROLE_LABELS, ROLE_PERMISSIONS

PAGES = {
    # page -> roles that may open it (everyone else gets 403)
    "core:dashboard": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager",
                       "shift_leader", "operator", "gate_guard", "auditor"},
    "core:equipment_list": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager",
                            "shift_leader", "operator", "gate_guard", "auditor"},
    "core:equipment_create": {"system_admin"},
    "core:equipment_import": {"system_admin"},
    "core:token_list": {"system_admin", "auditor"},
    "core:audit_list": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager", "auditor"},
    "evidence:overview": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager", "auditor"},
}


def test_every_role_group_is_created_by_migration(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_LABELS)
    auditor = Group.objects.get(name="auditor")
    codenames = set(auditor.permissions.values_list("codename", flat=True))
    assert all(code.startswith("view_") for code in codenames), "auditor is read-only"
    assert "view_leaf" in codenames


@pytest.mark.parametrize("role", sorted(ROLE_LABELS))
@pytest.mark.parametrize("page", sorted(PAGES))
def test_role_reaches_its_pages_and_gets_403_elsewhere(client, site, role_user, role, page):
    client.force_login(role_user(role, site))
    response = client.get(reverse(page))
    expected = 200 if role in PAGES[page] else 403
    assert response.status_code == expected, f"{role} on {page}"


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_equipment_list_shows_only_sites_in_scope(client, site, other_site, role_user):
    client.force_login(role_user("operator", site))
    body = client.get(reverse("core:equipment_list")).content.decode()
    assert "LW-01" in body and "X-01" not in body


def test_equipment_of_another_site_is_not_found(client, site, other_site, role_user):
    client.force_login(role_user("operator", site))
    foreign = Equipment.objects.get(code="X-01")
    assert client.get(reverse("core:equipment_detail", args=[foreign.pk])).status_code == 404


def test_auditor_cannot_write(client, site, role_user):
    client.force_login(role_user("auditor", site))
    response = client.post(reverse("core:token_list"), {"name": "x", "site": site.pk, "purpose": "camera"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_role_permissions_only_name_existing_permissions(db):
    from django.contrib.auth.models import Permission

    for role, perms in ROLE_PERMISSIONS.items():
        for perm in perms:
            app_label, codename = perm.split(".")
            assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), perm
