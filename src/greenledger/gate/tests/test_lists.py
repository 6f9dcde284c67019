"""Whitelist, blacklist and the regulator's over-emission list: add, expire, import."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from greenledger.gate.models import ListEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, site, role_user):
    user = role_user("environmental_manager", site, "env")
    client.force_login(user)
    return user


def entry(site, plate="苏D12345", kind="black", **extra):
    return ListEntry.objects.create(site=site, kind=kind, plate=plate, reason=extra.pop("reason", "超标"), **extra)


def xlsx(header, *rows):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("list.xlsx", buffer.getvalue())


def test_add_an_entry_with_a_reason(client, manager, site):
    response = client.post(reverse("gate:list_entry_add"), {
        "site": site.pk, "kind": "black", "plate": "苏d 12345", "plate_color": "", "reason": "多次冒黑烟",
        "valid_from": "2026-01-01T08:00", "valid_until": "", "source": ""})
    assert response.status_code == 302
    stored = ListEntry.objects.get()
    assert stored.plate == "苏D12345" and stored.created_by == manager


def test_reason_is_required_and_plate_checked(client, manager, site):
    page = client.post(reverse("gate:list_entry_add"), {
        "site": site.pk, "kind": "white", "plate": "苏D1", "reason": "  ", "valid_from": "2026-01-01T08:00"})
    assert page.status_code == 200 and not ListEntry.objects.exists()
    assert set(page.context["form"].errors) == {"plate", "reason"}


def test_expire_sets_the_end_to_now_and_keeps_the_entry(client, manager, site):
    listed = entry(site, valid_from=timezone.now() - datetime.timedelta(days=3))
    before = timezone.now()
    client.post(reverse("gate:list_entry_expire", args=[listed.pk]))
    listed.refresh_from_db()
    assert listed.valid_until is not None and listed.valid_until >= before
    page = client.get(reverse("gate:list_entries"), {"current": "true"}, HTTP_HX_REQUEST="true").content.decode()
    assert "苏D12345" not in page
    assert "苏D12345" in client.get(reverse("gate:list_entries")).content.decode()


def test_expire_needs_the_change_permission_and_the_site(client, site, other_site, role_user):
    theirs = entry(other_site)
    client.force_login(role_user("environmental_manager", site))
    assert client.post(reverse("gate:list_entry_expire", args=[theirs.pk])).status_code == 404
    client.force_login(role_user("auditor", site, "aud"))
    mine = entry(site)
    assert client.post(reverse("gate:list_entry_expire", args=[mine.pk])).status_code == 403
    mine.refresh_from_db()
    assert mine.valid_until is None


def test_list_page_filters_by_kind_and_stays_in_scope(client, manager, site, other_site):
    entry(site, "苏D11111", kind="white")
    entry(site, "苏D22222", kind="over_emission")
    entry(other_site, "苏D33333")
    page = client.get(reverse("gate:list_entries"), {"kind": "over_emission"}).content.decode()
    assert "苏D22222" in page and "苏D11111" not in page and "苏D33333" not in page


def test_import_the_regulators_over_emission_list(client, manager, site):
    upload = xlsx(["车牌号码", "号牌颜色", "原因", "截止时间"],
                  ["苏D12345", "黄色", "遥感监测超标", "2026-12-31 00:00"],
                  ["苏E54321", "", "路检超标", ""])
    response = client.post(reverse("gate:list_import"), {"site": site.pk, "kind": "over_emission", "file": upload,
                                                         "source": "苏环〔2026〕1号"})
    assert response.status_code == 302
    first, second = ListEntry.objects.order_by("plate")
    assert first.kind == "over_emission" and first.plate_color == "yellow" and first.source == "苏环〔2026〕1号"
    assert first.valid_until.year == 2026 and second.valid_until is None and second.created_by == manager


def test_import_refuses_rows_without_a_reason_and_saves_nothing(client, manager, site):
    upload = xlsx(["车牌号码", "原因"], ["苏D12345", "超标"], ["苏D54321", ""], ["苏X", "超标"])
    response = client.post(reverse("gate:list_import"), {"site": site.pk, "kind": "over_emission", "file": upload})
    assert not ListEntry.objects.exists()
    assert [(row, column) for row, column, _m in response.context["problems"]] == [(3, "原因"), (4, "车牌号码")]
