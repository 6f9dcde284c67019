"""Attachments, audit of master data, notifications, the API error format, Excel in and out."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from greenledger.core.attachments import attach
from greenledger.core.demo import tiny_png
from greenledger.core.models import Attachment, AuditEntry, Equipment, NotificationDelivery
from greenledger.core.notifications import notify
from greenledger.evidence.models import AppendOnlyError, Leaf


def test_photo_upload_is_hashed_and_sealed(client, site, role_user):
    client.force_login(role_user("operator", site))
    equipment = Equipment.objects.get(code="LW-01")
    png = tiny_png()
    response = client.post(f"/api/core/equipment/{equipment.pk}/attachments",
                           {"file": SimpleUploadedFile("铭牌.png", png), "caption": "铭牌"})
    assert response.status_code == 201, response.content
    body = response.json()
    import hashlib

    assert body["sha256"] == hashlib.sha256(png).hexdigest()
    assert body["mime_type"] == "image/png" and body["kind"] == "photo"
    assert Leaf.objects.filter(table="core.attachment", record_id=body["id"]).exists()


def test_disallowed_type_is_refused_with_the_error_format(client, site, role_user):
    client.force_login(role_user("operator", site))
    equipment = Equipment.objects.get(code="LW-01")
    response = client.post(f"/api/core/equipment/{equipment.pk}/attachments",
                           {"file": SimpleUploadedFile("tool.exe", b"MZ\x90\x00" + b"\x00" * 100)})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["rule"] == "file_type" and error["message"]
    assert not Attachment.objects.exists()


def test_oversized_file_is_refused(site, settings, db):
    settings.GREENLEDGER_ATTACHMENT_MAX_BYTES = 100
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        attach(Equipment.objects.get(code="LW-01"), SimpleUploadedFile("big.png", tiny_png(size=64)))
    assert caught.value.code == "file_size"


def test_attachments_are_append_only(site, db):
    item = attach(Equipment.objects.get(code="LW-01"), SimpleUploadedFile("a.png", tiny_png()))
    item.caption = "changed"
    with pytest.raises(AppendOnlyError):
        item.save()
    with pytest.raises(AppendOnlyError):
        item.delete()


def test_master_data_change_is_audited_with_before_and_after(client, site, role_user):
    admin = role_user("system_admin", site)
    client.force_login(admin)
    equipment = Equipment.objects.get(code="LW-01")
    response = client.post(reverse("core:equipment_edit", args=[equipment.pk]), {
        "workshop": equipment.workshop_id, "code": "LW-01", "name": "激光焊接机（改造后）",
        "equipment_type": "激光焊接", "location": "B栋", "tag_id": "NFC-T-1", "in_service": "on",
    })
    assert response.status_code == 302
    entry = AuditEntry.objects.get_for_object(equipment).filter(action=AuditEntry.Action.UPDATE).latest("timestamp")
    assert entry.actor == admin
    assert entry.changes_dict["name"] == ["激光焊接机", "激光焊接机（改造后）"]
    assert Leaf.objects.filter(table="core.auditentry", record_id=str(entry.pk)).exists()


def test_the_audit_trail_cannot_be_changed_or_emptied_in_bulk(site):
    equipment = Equipment.objects.get(code="LW-01")
    equipment.name = "激光焊接机（改造后）"
    equipment.save()
    entries = AuditEntry.objects.get_for_object(equipment)  # auditlog's own manager methods still work
    count = entries.count()
    assert count
    with pytest.raises(AppendOnlyError):
        entries.update(changes_text="")
    with pytest.raises(AppendOnlyError):
        entries.delete()
    assert AuditEntry.objects.get_for_object(equipment).count() == count


def test_notify_writes_in_app_email_and_adapter_deliveries(site, role_user):
    user = role_user("safety_manager", site)
    user.email = "safety@example.cn"
    user.save()
    [notification] = notify([user], "异常待处理", "封口机密封检测异常", channels=("email", "sms"))
    assert user.notifications.get() == notification
    assert mail.outbox[0].subject == "异常待处理"
    channels = dict(NotificationDelivery.objects.values_list("channel", "ok"))
    assert channels == {"email": True, "sms": True}


def test_broken_adapter_keeps_the_in_app_notification(site, role_user, settings):
    settings.GREENLEDGER_NOTIFICATION_ADAPTERS = {"sms": "greenledger.core.tests.test_records.FailingAdapter"}
    user = role_user("operator", site)
    notify([user], "提醒", channels=("sms",))
    assert user.notifications.count() == 1
    delivery = NotificationDelivery.objects.get()
    assert not delivery.ok and "gateway down" in delivery.detail


class FailingAdapter:
    def address_for(self, user):
        return "138"

    def send(self, notification, address):
        raise ConnectionError("gateway down")


def test_api_validation_errors_name_field_and_rule(client, site, role_user):
    client.force_login(role_user("operator", site))
    response = client.get("/api/core/notifications?unread=maybe")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "unread" and error["rule"] and error["message"]


def test_equipment_export_and_import_round_trip(client, site, role_user):
    client.force_login(role_user("system_admin", site))
    export = client.get(reverse("core:equipment_list") + "?export=xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert [c.value for c in sheet[2]][:2] == ["LW-01", "激光焊接机"]

    template = load_workbook(io.BytesIO(client.get(reverse("core:equipment_import") + "?template=1").content)).active
    headers = [c.value for c in template[1]]
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    ws.append(["test-site", "assembly", "SEAL-01", "真空封口机", "封口机", "干燥房", "NFC-T-2", 12])
    ws.append(["test-site", "nowhere", "BAD-01", "不存在车间的设备", "", "", "", ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = client.post(reverse("core:equipment_import"),
                           {"file": SimpleUploadedFile("eq.xlsx", buffer.getvalue())})
    assert response.status_code == 200
    assert [p[0] for p in response.context["problems"]] == [3]
    assert not Equipment.objects.filter(code="SEAL-01").exists(), "nothing saved while a row is wrong"

    ws.delete_rows(3)
    buffer = io.BytesIO()
    wb.save(buffer)
    response = client.post(reverse("core:equipment_import"),
                           {"file": SimpleUploadedFile("eq.xlsx", buffer.getvalue())})
    assert response.status_code == 302
    assert Equipment.objects.get(code="SEAL-01").tag_id == "NFC-T-2"


def test_demo_is_idempotent_and_has_one_user_per_role(db):
    """Loading the demo again the same day changes nothing; loading it on the next day extends the
    month-to-date rows (the clock is pinned on either side of a midnight) without counting a day twice."""
    import datetime

    import time_machine
    from django.core.management import call_command
    from django.utils import timezone

    from greenledger.carbon.models import ActivityRecord, ProductionOutput
    from greenledger.core.roles import ROLE_LABELS

    # a day later than any row the test database holds (factor versions are created "now"), and not the 1st
    day = (timezone.localdate() + datetime.timedelta(days=40)).replace(day=14)
    local = timezone.get_current_timezone()

    def load_at(moment):
        with time_machine.travel(datetime.datetime.combine(day, moment, tzinfo=local), tick=True):
            call_command("demo", "--quiet-logins", stdout=io.StringIO())

    load_at(datetime.time(23, 57))
    counts = (Equipment.objects.count(), get_user_model().objects.count(), Attachment.objects.count(),
              Leaf.objects.count())
    load_at(datetime.time(23, 58))
    assert (Equipment.objects.count(), get_user_model().objects.count(), Attachment.objects.count(),
            Leaf.objects.count()) == counts
    roles = set(get_user_model().objects.values_list("groups__name", flat=True))
    assert roles >= set(ROLE_LABELS)
    assert set(Equipment.objects.values_list("workshop__name", flat=True)) >= {"配料搅拌", "涂布", "电芯封装", "化成测试"}

    month_start = day.replace(day=1)
    before = ActivityRecord.objects.filter(period_start=month_start, superseded=False).count()
    assert before > 0  # the month to date (the 1st to the 13th) is in
    with time_machine.travel(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0, 3),
                                                       tzinfo=local), tick=True):
        call_command("demo", "--quiet-logins", stdout=io.StringIO())
    for model, series in ((ActivityRecord, ("site", "activity", "workshop", "point_code")),
                          (ProductionOutput, ("site", "product", "workshop"))):
        current = model.objects.filter(superseded=False).order_by(*series, "period_start")
        seen = {}
        for row in current:
            key = tuple(getattr(row, f"{name}_id", None) or getattr(row, name) for name in series)
            previous = seen.get(key)
            assert previous is None or previous.period_end < row.period_start, (model.__name__, key)
            seen[key] = row
    extended = ActivityRecord.objects.filter(period_start=month_start, superseded=False)
    assert extended.count() == before and set(extended.values_list("period_end", flat=True)) == {day}


def test_tags_are_added_and_removed_with_the_change_permission(client, site, role_user):
    from greenledger.core.tags import tags_of

    equipment = Equipment.objects.get(code="LW-01")
    url = reverse("core:record_tags", args=["core", "equipment", equipment.pk])
    client.force_login(role_user("operator", site))
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "重点设备"}).status_code == 403
    client.force_login(role_user("system_admin", site, username="admin-t"))
    response = client.post(url, {"name": "重点设备"})
    assert "重点设备" in response.content.decode()
    assert [t.name for t in tags_of(equipment)] == ["重点设备"]
    client.post(url, {"remove": "重点设备"})
    assert not tags_of(equipment).exists()
