"""The guard console in a real browser (Debian chromium): a new passage appears without a reload, and the
guard releases it with the keyboard (R, type the reason, Ctrl+Enter)."""

import pytest

from conftest import restore_roles

pytestmark = pytest.mark.browser

PASSWORD = "x-Pass-1234"


@pytest.mark.django_db(transaction=True)
def test_new_passage_shows_up_live_and_the_guard_releases_it_by_keyboard(live_server, browser, site, role_user):
    from greenledger.gate.models import Passage

    from .factories import make_gate
    from .test_ledger import make_passage

    restore_roles()
    gate = make_gate(site)
    role_user("gate_guard", site, username="guard-b")
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/login/?next=/gate/console/")
    page.fill("input[name=username]", "guard-b")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url("**/gate/console/")
    page.wait_for_selector("#console-feed")
    marker = page.evaluate("() => { window.notReloaded = true; return true; }")

    passage = make_passage(site, gate, plate="苏B3K512", decision="manual", vehicle_kind="unknown",
                           reason="未登记车辆，人工核查")
    page.wait_for_selector("#latest .plate-chip:has-text('苏B3K512')", timeout=5000)
    assert marker and page.evaluate("() => window.notReloaded === true")
    assert "未登记车辆，人工核查" in page.inner_text("#latest")

    page.keyboard.press("r")
    page.wait_for_selector("#reason-dialog[open]")
    page.keyboard.type("临时送货车辆，已核对随车清单")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#latest .verdict-pass", timeout=10000)
    passage.refresh_from_db()
    assert passage.final_decision == "pass"
    assert Passage.objects.get().actions.get().reason == "临时送货车辆，已核对随车清单"
    context.close()
    assert not errors, errors
