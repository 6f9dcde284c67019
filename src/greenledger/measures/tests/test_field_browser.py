"""The field app in a real browser (Debian chromium via Playwright): the demo operator records a
measure on a phone-sized page, then records another one offline, sees it waiting in the
IndexedDB queue, syncs it when the network is back, and a forced resend stores nothing twice."""

import datetime
import io
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from conftest import restore_roles
from greenledger.core.demo import DEMO_PASSWORD, tiny_png

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def load_demo_catalogue():
    """The demo people and measure catalogue, without the (slow) month of generated records."""
    from greenledger.core import demo as core_demo

    restore_roles()
    core_demo.load()
    try:
        from greenledger.measures import demo
        demo.ensure_catalogue(demo.ensure_sites())
    except (ImportError, AttributeError):
        call_command("demo", "--quiet-logins", stdout=io.StringIO())


def demo_measure(code, name, params, measure_type="inspection"):
    """A measure of the demo catalogue, or the same one made here if the catalogue changed."""
    from greenledger.core.demo import SITE_CODE
    from greenledger.core.models import Workshop
    from greenledger.measures.models import Measure, MeasureParameter

    measure = Measure.objects.filter(site__code=SITE_CODE, code=code).first()
    if measure is None:
        stage = Workshop.objects.get(site__code=SITE_CODE, code="assembly")
        measure = Measure.objects.create(site=stage.site, stage=stage, code=code, name=name,
                                         measure_type=measure_type, purpose="both", schedule="per_shift")
        for order, (pcode, pname, unit, low, high) in enumerate(params):
            MeasureParameter.objects.create(measure=measure, code=pcode, name=pname, unit=unit, min_value=low,
                                            max_value=high, order=order)
    return measure


@pytest.fixture
def phone(live_server, browser):
    """A phone-sized page logged in as the demo operator, on "my work" with the worker ready."""
    load_demo_catalogue()
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/login/?next=/m/")
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url("**/m/")
    # the service worker controls the page and has kept the record forms for offline use
    page.wait_for_function("() => navigator.serviceWorker.controller"
                           " && document.documentElement.dataset.offlineReady === 'true'", timeout=30000)
    yield page, context, errors
    context.close()
    assert not errors, errors


def card_button(page, measure, kind):
    card = page.locator(f"#all-measures li.f-card[data-measure='{measure.pk}']")
    return card.locator("a.f-btn.primary" if kind == "record" else "form.f-one-tap button")


@pytest.mark.django_db(transaction=True)
def test_operator_records_online_then_offline_and_syncs_once(live_server, phone):
    from greenledger.core.attachments import attachments_of
    from greenledger.measures.models import ExecutionRecord

    page, context, _errors = phone
    energy = demo_measure("L-ASM-01", "封装设备能耗优化", [("energy", "班次电耗", "kWh", 50, 400)], "operation")
    welding = demo_measure("L-ASM-05", "激光焊接质量抽检", [("samples", "抽检数", "个", 5, 50),
                                                          ("defects", "不良数", "个", 0, 1)])

    # online: my work → 记录 → type the number → save; the server holds it
    started = time.monotonic()
    card_button(page, energy, "record").click()
    page.wait_for_selector("#record-form")
    page.fill("#v-energy", "180")
    page.check("input[name=compliant][value=true]")
    page.click("#record-submit")
    page.wait_for_selector("#record-result[data-state=sent]")
    print(f"\nonline recording flow (open form → saved on the server): {time.monotonic() - started:.2f} s")
    record = ExecutionRecord.objects.get(measure=energy)
    assert record.values == {"energy": 180.0} and record.source == "web"
    assert record.executor.user.username == "operator" and record.entered_at is not None
    assert record.recorded_at - record.occurred_at < datetime.timedelta(minutes=2)

    # offline: the pages come from the service worker, the record waits in IndexedDB
    context.set_offline(True)
    response = page.goto(live_server.url + "/m/tag/NFC-NOT-CACHED/")
    assert response.status == 503 and "离线" in page.inner_text("h1")  # the worker's own offline page
    response = page.goto(live_server.url + "/m/")
    assert response.from_service_worker and response.status == 200
    page.wait_for_function("() => document.getElementById('net-state').dataset.state === 'offline'")
    card_button(page, welding, "record").click()
    page.wait_for_selector("#record-form")
    page.fill("#v-samples", "20")
    page.fill("#v-defects", "0")
    page.fill("#batch-no", "LC20261130A")
    photo = {"name": "weld.png", "mimeType": "image/png", "buffer": tiny_png()}
    page.set_input_files("#photos", files=[photo])
    page.click("#record-submit")
    page.wait_for_selector("#record-result[data-state=pending]")
    page.click("#sync-panel > summary")  # "records on this phone"
    pending = page.locator("#sync-list li[data-status=pending]")
    pending.wait_for()
    assert pending.count() == 1
    client_id = pending.get_attribute("data-record-id")
    assert "激光焊接质量抽检" in pending.inner_text()
    assert page.locator("#sync-summary").get_attribute("data-waiting") == "1"
    stored = page.evaluate("async (id) => { const r = await GLField.store.get(id);"
                           " const files = await GLField.store.files(id);"
                           " return {status: r.status, source: r.payload.source, files: files.length,"
                           " blob: files[0].blob instanceof Blob}; }", client_id)
    assert stored == {"status": "pending", "source": "offline", "files": 1, "blob": True}
    assert not ExecutionRecord.objects.filter(pk=client_id).exists()

    # back online: sync now → sent, stored once, with its photo and the offline source
    context.set_offline(False)
    page.click("#sync-now")
    page.wait_for_selector(f"#sync-list li[data-record-id='{client_id}'][data-status=sent]")
    offline_record = ExecutionRecord.objects.get(pk=client_id)
    assert offline_record.values == {"samples": 20.0, "defects": 0.0}
    assert offline_record.source == "offline" and offline_record.batch_no == "LC20261130A"
    assert offline_record.entered_at < offline_record.recorded_at
    assert attachments_of(offline_record).count() == 1
    assert page.locator("#record-result[data-state=sent]").count() == 1  # the form page learnt it too

    # a forced resend of the same record (a reply lost on the way back) stores nothing new
    page.evaluate("(id) => GLField.resend(id)", client_id)
    page.wait_for_selector(f"#sync-list li[data-record-id='{client_id}'][data-status=sent]")
    status = page.evaluate("""async ([id, measure]) => {
        const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
        const response = await fetch('/api/measures/records', {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
            body: JSON.stringify({id, measure, occurred_at: new Date().toISOString(),
                                  values: {samples: 7, defects: 1}})});
        return response.status; }""", [client_id, welding.pk])
    assert status == 200
    assert ExecutionRecord.objects.filter(pk=client_id).count() == 1
    assert ExecutionRecord.objects.get(pk=client_id).values == {"samples": 20.0, "defects": 0.0}
    assert ExecutionRecord.objects.filter(measure=welding).count() == 1


@pytest.mark.django_db(transaction=True)
def test_out_of_range_value_is_confirmed_and_simple_measure_is_one_tap(live_server, phone):
    from greenledger.measures.models import ExecutionRecord, Measure, ReviewFlag

    page, _context, _errors = phone
    energy = demo_measure("L-ASM-01", "封装设备能耗优化", [("energy", "班次电耗", "kWh", 50, 400)], "operation")
    card_button(page, energy, "record").click()
    page.wait_for_selector("#record-form")
    page.fill("#v-energy", "999")
    page.check("input[name=compliant][value=true]")
    page.click("#record-submit")
    page.wait_for_selector("#record-result[data-state=confirm]")
    assert "999" in page.inner_text("#record-result")
    assert page.locator("#confirm-submit").is_visible()
    assert not ExecutionRecord.objects.filter(measure=energy).exists()
    page.click("#confirm-submit")
    page.wait_for_selector("#record-result[data-state=sent]")
    record = ExecutionRecord.objects.get(measure=energy)
    assert record.values == {"energy": 999.0} and record.confirmed_warnings
    assert ReviewFlag.objects.filter(record=record).exists()

    # record another, executed three hours ago: the late-entry reason appears and is stored
    page.click("#record-again")
    assert page.locator("#late-field").is_hidden()
    three_hours_ago = datetime.datetime.now(ZoneInfo("Asia/Shanghai")) - datetime.timedelta(hours=3)
    page.fill("#occurred-at", three_hours_ago.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#late-field").wait_for()
    page.fill("#v-energy", "120")
    page.check("input[name=compliant][value=true]")
    page.fill("#late-reason", "夜班交接后补录")
    page.click("#record-submit")
    page.wait_for_selector("#record-result[data-state=sent]")
    late = ExecutionRecord.objects.filter(measure=energy, is_late=True).get()
    assert late.late_reason == "夜班交接后补录" and late.late_state == "pending"

    # one tap: a simple measure is done from the list
    page.goto(live_server.url + "/m/")
    simple = next(m for m in Measure.objects.filter(site__code="changzhou-cell", active=True)
                  .prefetch_related("parameters") if m.is_simple and m.stage.code == "assembly")
    card_button(page, simple, "done").click()
    page.wait_for_selector(f"#all-measures [data-status-for='{simple.pk}'][data-status=sent]")
    done = ExecutionRecord.objects.get(measure=simple)
    assert done.source == "one_tap" and done.executor.user.username == "operator"

