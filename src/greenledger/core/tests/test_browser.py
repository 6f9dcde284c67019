"""In a real browser (Debian chromium via Playwright): log in, see the dashboard chart, switch language."""

import io

import pytest
from django.core.management import call_command

from conftest import restore_roles

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_environmental_manager_logs_in_sees_chart_and_switches_language(live_server, browser):
    restore_roles()
    call_command("demo", "--quiet-logins", stdout=io.StringIO())
    page = browser.new_page(locale="zh-CN")
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", "env")
    page.fill("input[name=password]", "Demo@2026")
    page.click("#login-submit")
    page.wait_for_url("**/dashboard/")
    assert "仪表盘" in page.inner_text("h1")
    assert "常州电芯工厂" in page.inner_text("h1")
    # the ECharts chart is really drawn: an instance with a bar series holding the equipment counts
    page.wait_for_function("() => window.echarts && echarts.getInstanceByDom(document.getElementById('chart-equipment'))")
    series = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-equipment')).getOption().series[0].data"
    )
    assert sum(series) >= 20
    assert page.locator("#chart-equipment canvas").count() == 1
    # Chinese is drawn with the font shipped in the package when the machine has none of its own:
    # its pieces for the characters on the page are served and loaded (none failed)
    page.wait_for_function("() => [...document.fonts].some(f => f.family.replace(/\"/g, '') === 'Noto Sans SC'"
                           " && f.status === 'loaded')")
    assert not page.evaluate("() => [...document.fonts].filter(f => f.status === 'error').length")
    # and the charts are told to use it (a canvas only uses a web font named to it)
    assert "Noto Sans SC" in page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-equipment')).getModel()"
        ".get('textStyle').fontFamily")
    page.click("button[data-lang=en]")
    page.wait_for_load_state()
    assert "Dashboard" in page.inner_text("h1")
    assert "Evidence log" in page.inner_text("nav")
    page.click("button[data-lang=zh-hans]")
    page.wait_for_load_state()
    assert "仪表盘" in page.inner_text("h1")
