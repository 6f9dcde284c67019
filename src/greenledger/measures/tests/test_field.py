"""The operator's field pages (/m/): my work, tag landing, the record form, one-tap completion,
scope and permissions, and the offline machinery (service worker, probe, manifest)."""

import datetime
import json
import re
import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from greenledger.core.attachments import attachments_of
from greenledger.core.demo import tiny_png
from greenledger.core.models import Person
from greenledger.measures.models import (
    ChecklistItem, ChecklistTemplate, ContractorAssignment, DueExecution, ExecutionRecord, Measure,
    MeasureParameter, RecordSource,
)

from .factories import make_measure, make_person, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant():
    return make_site()


@pytest.fixture
def operator(plant, django_user_model):
    person = make_person(plant, "operator", "op", django_user_model)
    person.workshop = plant.workshops.get(code="assembly")
    person.save()
    return person


@pytest.fixture
def op_client(client, operator):
    client.force_login(operator.user)
    return client


def due_section(html):
    return html.split('id="due-now"')[1].split('id="all-measures"')[0]


def simple_measure(site, code="VENT-01", name="通风系统运行检查", **extra):
    return make_measure(site, code=code, name=name, measure_type="operation", params=False, **extra)


def test_my_work_lists_due_executions_and_measures_by_stage(op_client, plant, operator):
    seal = make_measure(plant)
    vent = simple_measure(plant)
    now = timezone.now()
    DueExecution.objects.create(measure=seal, due_at=now - datetime.timedelta(minutes=10),
                                window_end=now + datetime.timedelta(minutes=50))
    DueExecution.objects.create(measure=vent, due_at=now + datetime.timedelta(days=1),
                                window_end=now + datetime.timedelta(days=1, hours=1))  # not soon
    response = op_client.get(reverse("field:home"))
    assert response.status_code == 200
    html = response.content.decode()
    due = due_section(html)
    assert "封装密封性检测" in due and "通风系统运行检查" not in due
    assert "overdue" in due
    everything = html.split('id="all-measures"')[1]
    assert "电芯封装" in everything and "通风系统运行检查" in everything
    # one tap for the simple measure only; the form for both
    assert reverse("field:complete", args=[vent.pk]) in html
    assert reverse("field:complete", args=[seal.pk]) not in html
    assert reverse("field:record", args=[seal.pk]) in html and reverse("field:record", args=[vent.pk]) in html
    assert 'id="field-config"' in html and reverse("field:sw") in html


def test_due_list_is_the_persons_own_work(op_client, plant, operator, django_user_model):
    other_stage = plant.workshops.create(code="formation", name="化成测试", sequence=4)
    elsewhere = Measure.objects.create(site=plant, stage=other_stage, code="FORM-1", name="化成柜校验",
                                       measure_type="inspection", purpose="safety", schedule="daily")
    mine_by_name = Measure.objects.create(site=plant, stage=other_stage, code="FORM-2", name="化成区巡检",
                                          measure_type="operation", purpose="safety", schedule="daily",
                                          responsible=operator)
    now = timezone.now()
    for measure in (elsewhere, mine_by_name):
        DueExecution.objects.create(measure=measure, due_at=now, window_end=now + datetime.timedelta(hours=1))
    due = due_section(op_client.get(reverse("field:home")).content.decode())
    assert "化成区巡检" in due and "化成柜校验" not in due


def test_search_narrows_the_list_without_javascript(op_client, plant):
    make_measure(plant)
    simple_measure(plant)
    html = op_client.get(reverse("field:home"), {"q": "密封"}).content.decode()
    everything = html.split('id="all-measures"')[1]
    assert "封装密封性检测" in everything and "通风系统运行检查" not in everything


def test_supplier_and_anonymous_are_refused(client, plant, django_user_model):
    make_measure(plant)
    response = client.get(reverse("field:home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    supplier = make_person(plant, "supplier", "sup", django_user_model)
    client.force_login(supplier.user)
    for url in (reverse("field:home"), reverse("field:tag", args=["NFC-plant-SEAL"]),
                reverse("field:record", args=[plant.measures.first().pk])):
        assert client.get(url).status_code == 403


def test_auditor_sees_the_list_but_may_not_record(client, plant, django_user_model):
    measure = make_measure(plant)
    auditor = make_person(plant, "auditor", "aud", django_user_model)
    client.force_login(auditor.user)
    html = client.get(reverse("field:home")).content.decode()
    assert "封装密封性检测" in html and reverse("field:record", args=[measure.pk]) not in html
    assert client.get(reverse("field:record", args=[measure.pk])).status_code == 403


def test_other_sites_measures_are_out_of_scope(op_client, plant, other_site):
    foreign = make_measure(other_site, code="X-1", name="外厂措施")
    assert "外厂措施" not in op_client.get(reverse("field:home")).content.decode()
    assert op_client.get(reverse("field:record", args=[foreign.pk])).status_code == 404
    assert op_client.get(reverse("field:tag", args=["NFC-O-1"])).status_code == 404


def test_tag_landing_shows_the_measures_behind_the_tag(op_client, plant):
    seal = make_measure(plant)  # on the equipment tagged NFC-plant-SEAL
    own_tag = simple_measure(plant, tag_id="QR-VENT-7")
    unrelated = simple_measure(plant, code="OTHER", name="无关措施")
    Measure.objects.filter(pk=unrelated.pk).update(equipment=None)
    response = op_client.get(reverse("field:tag", args=["NFC-plant-SEAL"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "真空封口机" in html and seal.name in html
    assert own_tag.name not in html and unrelated.name not in html
    # the tag travels with the record: the form link and the one-tap form carry it
    assert f'{reverse("field:record", args=[seal.pk])}?tag=NFC-plant-SEAL' in html
    html = op_client.get(reverse("field:tag", args=["QR-VENT-7"])).content.decode()
    assert own_tag.name in html and seal.name not in html
    assert 'name="tag_scanned" value="QR-VENT-7"' in html
    assert op_client.get(reverse("field:tag", args=["NFC-NOWHERE"])).status_code == 404


def test_contractor_sees_only_assigned_measures(client, plant, operator, django_user_model):
    assigned = make_measure(plant, code="OIL-1", name="废油回收处理", params=False)
    make_measure(plant, code="SEAL-2", name="封装密封性检测")
    contractor = make_person(plant, "contractor", "ctr", django_user_model)
    now = timezone.now()
    assignment = ContractorAssignment.objects.create(
        user=contractor.user, company_contact=operator, valid_from=now - datetime.timedelta(days=1),
        valid_to=now + datetime.timedelta(days=5))
    assignment.measures.add(assigned)
    client.force_login(contractor.user)
    html = client.get(reverse("field:home")).content.decode()
    assert "废油回收处理" in html and "封装密封性检测" not in html
    assert client.get(reverse("field:record", args=[assigned.pk])).status_code == 200
    other = plant.measures.get(code="SEAL-2")
    assert client.get(reverse("field:record", args=[other.pk])).status_code == 404
    # the tag of the shared equipment shows the contractor only its own measure
    html = client.get(reverse("field:tag", args=["NFC-plant-SEAL"])).content.decode()
    assert "废油回收处理" in html and "封装密封性检测" not in html


def test_record_form_is_generated_from_the_parameter_schema(op_client, plant):
    measure = make_measure(plant, photo=True)
    MeasureParameter.objects.create(measure=measure, code="leak_found", name="发现泄漏", value_type="boolean",
                                    order=5)
    MeasureParameter.objects.create(measure=measure, code="note", name="检测仪编号", value_type="text",
                                    required=False, order=6)
    MeasureParameter.objects.create(measure=measure, code="temp", name="环境温度", unit="°C", source="telemetry",
                                    telemetry_point="TT-101", min_value=0, max_value=40, order=7)
    response = op_client.get(reverse("field:record", args=[measure.pk]) + "?tag=NFC-plant-SEAL")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'type="number" id="v-pass_rate" name="v.pass_rate"'
                     r'[^>]*data-min="95"[^>]*data-max="100"[^>]*required', html)
    assert 'name="v.pressure"' in html and not re.search(r'name="v.pressure"[^>]*required', html)
    assert "95 – 100 %" in html and "80 – 120 kPa" in html
    assert 'type="radio" name="v.leak_found" value="true" required' in html
    assert re.search(r'type="text" id="v-note" name="v.note"', html)
    assert "TT-101" in html and not re.search(r'name="v.temp"[^>]*required', html)  # sensor-bound: optional
    assert 'accept="image/*" capture="environment" multiple required' in html
    assert 'name="compliant"' in html  # inspection: within range yes/no
    assert 'type="datetime-local" id="occurred-at" name="occurred_at" step="60" required' in html
    assert 'name="tag_scanned" value="NFC-plant-SEAL"' in html
    assert 'id="late-field" hidden' in html
    assert f'data-grace="{measure.grace_minutes}"' in html


def test_checklist_measure_shows_items_and_participants(op_client, plant):
    template = ChecklistTemplate.objects.create(site=plant, name="消防应急演练")
    first = ChecklistItem.objects.create(template=template, order=0, text="报警与广播")
    ChecklistItem.objects.create(template=template, order=1, kind="step", text="清点人数")
    measure = simple_measure(plant, checklist=template)
    html = op_client.get(reverse("field:record", args=[measure.pk])).content.decode()
    assert f'type="checkbox" name="ticked" value="{first.pk}"' in html and "清点人数" in html
    assert 'name="participants"' in html
    assert 'name="compliant" value="true" required' in html  # operation: done as the procedure says
    # a checklist makes the measure not simple: no one-tap
    my_work = op_client.get(reverse("field:home")).content.decode()
    assert reverse("field:complete", args=[measure.pk]) not in my_work


def local_now_text(minutes_ago=0):
    moment = timezone.localtime(timezone.now() - datetime.timedelta(minutes=minutes_ago))
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_form_posts_without_javascript_with_confirmation_of_odd_values(op_client, plant, operator):
    measure = make_measure(plant)
    client_id = uuid.uuid4()
    form = {"id": str(client_id), "occurred_at": local_now_text(3), "v.pass_rate": "80", "v.pressure": "",
            "compliant": "", "batch_no": "LC20260501A", "remarks": "现场正常", "tag_scanned": "NFC-plant-SEAL"}
    url = reverse("field:record", args=[measure.pk])
    response = op_client.post(url, form)
    assert response.status_code == 409
    html = response.content.decode()
    assert "80" in html and 'name="confirm" value="true"' in html and 'id="server-warnings"' in html
    assert not ExecutionRecord.objects.exists()
    response = op_client.post(url, {**form, "confirm": "true"})
    assert response.status_code == 302 and response["Location"] == reverse("field:home")
    record = ExecutionRecord.objects.get()
    assert record.pk == client_id and record.values == {"pass_rate": 80.0}
    assert record.tag_scanned == "NFC-plant-SEAL" and record.batch_no == "LC20260501A"
    assert record.source == RecordSource.WEB and record.executor == operator and record.compliant is False
    # the same form sent twice (double tap, back button) stores one record
    op_client.post(url, {**form, "confirm": "true"})
    assert ExecutionRecord.objects.count() == 1


def test_late_entry_needs_a_reason(op_client, plant):
    measure = make_measure(plant, grace=30)
    url = reverse("field:record", args=[measure.pk])
    form = {"id": str(uuid.uuid4()), "occurred_at": local_now_text(120), "v.pass_rate": "99"}
    response = op_client.post(url, form)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="late-field" hidden' not in html and 'data-error-for="late_reason"' in html
    assert not ExecutionRecord.objects.exists()
    op_client.post(url, {**form, "late_reason": "夜班交接后补录"})
    record = ExecutionRecord.objects.get()
    assert record.is_late and record.late_reason == "夜班交接后补录"


def test_form_post_with_photo_and_checklist(op_client, plant):
    template = ChecklistTemplate.objects.create(site=plant, name="巡检表", needs_participants=True)
    item = ChecklistItem.objects.create(template=template, order=0, text="电解液无泄漏")
    measure = simple_measure(plant, checklist=template, photo=True)
    response = op_client.post(reverse("field:record", args=[measure.pk]), {
        "id": str(uuid.uuid4()), "occurred_at": local_now_text(1), "compliant": "true",
        "ticked": [str(item.pk)],
        "participants": "赵磊，陈明 黄海", "photos": SimpleUploadedFile("p.png", tiny_png(), "image/png"),
    })
    assert response.status_code == 302
    record = ExecutionRecord.objects.get()
    assert record.checklist == {"ticked": [item.pk], "participants": ["赵磊", "陈明", "黄海"]}
    assert record.compliant is True
    assert attachments_of(record).count() == 1


def test_one_tap_without_javascript(op_client, plant, operator):
    vent = simple_measure(plant)
    response = op_client.post(reverse("field:complete", args=[vent.pk]), {"tag_scanned": "NFC-plant-SEAL",
                                                                         "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("field:home")
    record = ExecutionRecord.objects.get()
    assert record.source == RecordSource.ONE_TAP and record.tag_scanned == "NFC-plant-SEAL"
    assert record.executor == operator
    seal = make_measure(plant)  # needs parameters: refused with a message, nothing stored
    op_client.post(reverse("field:complete", args=[seal.pk]))
    assert ExecutionRecord.objects.count() == 1


def test_service_worker_is_served_inside_its_scope(client):
    response = client.get(reverse("field:sw"))  # no login needed: it holds no data
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert reverse("field:sw") == "/m/sw.js"
    assert response["Service-Worker-Allowed"] == "/m/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', body).group(1)
    assert 'const SCOPE = "/m/";' in body
    assert '"/static/field/field.js"' in body and '"/static/field/field.css"' in body
    assert "request.method !== 'GET'" in body  # POSTs are never intercepted
    assert version == re.search(r'const VERSION = "(\w+)";', client.get("/m/sw.js").content.decode()).group(1)


def test_cache_version_follows_the_static_files(settings, tmp_path):
    from greenledger.measures import field_views

    before = field_views.shell_version()
    copy = tmp_path / "field"
    copy.mkdir()
    source_dir = field_views.finders.find("field/field.js").rsplit("/", 1)[0]
    for name in ("field.js", "field.css", "sw.js"):
        (copy / name).write_bytes(open(f"{source_dir}/{name}", "rb").read())
    (copy / "field.js").write_text((copy / "field.js").read_text() + "\n// changed\n")
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    from django.contrib.staticfiles.finders import get_finder
    get_finder.cache_clear()
    try:
        assert field_views.shell_version() != before
    finally:
        settings.STATICFILES_DIRS = settings.STATICFILES_DIRS[1:]
        get_finder.cache_clear()
    assert field_views.shell_version() == before


def test_ping_and_manifest(client):
    response = client.get(reverse("field:ping"))
    assert response.status_code == 200 and response.content == b"connected"
    assert "no-cache" in response["Cache-Control"]
    manifest = client.get(reverse("field:manifest"))
    assert manifest["Content-Type"] == "application/manifest+json"
    assert manifest.json()["scope"] == "/m/" and manifest.json()["start_url"] == "/m/"


def test_field_config_names_the_api_and_the_person(op_client, plant):
    make_measure(plant)
    html = op_client.get(reverse("field:home")).content.decode()
    config = re.search(r'<script id="field-config" type="application/json">(.*?)</script>', html).group(1)
    data = json.loads(config)
    assert data["records"] == "/api/measures/records" and data["ping"] == "/m/ping"
    assert data["user"] == "op" and data["canRecord"] is True


def test_person_without_user_person_record_gets_a_clear_error(client, plant, django_user_model):
    user = django_user_model.objects.create_user("ghost", password="x-Pass-1234")
    user.groups.add(Group.objects.get(name="system_admin"))
    user.user_permissions.add(*Permission.objects.filter(codename__in=["record_measure", "view_measure"]))
    measure = make_measure(plant)
    client.force_login(user)
    response = client.post(reverse("field:record", args=[measure.pk]),
                           {"occurred_at": local_now_text(), "v.pass_rate": "99"})
    assert response.status_code == 422
    assert not ExecutionRecord.objects.exists()
    assert Person.objects.filter(user=user).count() == 0


def test_my_work_query_count_does_not_grow_with_the_catalogue(op_client, plant,
                                                              django_assert_max_num_queries):
    for n in range(25):
        measure = make_measure(plant, code=f"M-{n}", name=f"措施 {n}", params=n % 2 == 0)
        now = timezone.now()
        DueExecution.objects.create(measure=measure, due_at=now, window_end=now + datetime.timedelta(hours=1))
    with django_assert_max_num_queries(20):
        response = op_client.get(reverse("field:home"))
    assert response.content.decode().count('<li class="f-card') == 50
