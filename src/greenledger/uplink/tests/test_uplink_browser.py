"""The uplink dashboard in a real browser (Debian chromium): figures and the rate chart render."""

import pytest

from conftest import restore_roles

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_dashboard_shows_the_backlog_and_draws_the_rate_chart(live_server, browser, site, role_user, simulator,
                                                              tmp_path, monkeypatch):
    from greenledger.uplink.worker import Worker

    from .builders import make_passage, make_platform

    restore_roles()
    platform = make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch)
    make_passage(site)
    Worker("w1").run_once()
    make_passage(site)
    role_user("environmental_manager", site, username="env-b")
    page = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai").new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/login/?next=/uplink/")
    page.fill("input[name=username]", "env-b")
    page.fill("input[name=password]", "x-Pass-1234")
    page.click("#login-submit")
    page.wait_for_url("**/uplink/")
    assert page.inner_text("[data-figure=backlog]") == "1"
    page.wait_for_selector("#chart-rate canvas")
    assert platform.name in page.inner_text("h1")
    assert errors == []
