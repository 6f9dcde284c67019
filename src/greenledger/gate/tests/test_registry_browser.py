"""A driver registers a truck on a phone through the carrier's link; the manager approves it in the queue."""

import pytest

from conftest import restore_roles
from greenledger.core.demo import tiny_png

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True)
def test_driver_registers_on_a_phone_and_manager_approves(live_server, browser, tmp_path):
    from greenledger.core.models import Enterprise, Person, Site
    from greenledger.gate.models import Carrier, Vehicle

    restore_roles()
    site = Site.objects.create(enterprise=Enterprise.objects.create(name="企业"), code="s1", name="一号厂")
    carrier = Carrier.objects.create(site=site, name="顺达物流")
    photo = tmp_path / "licence.png"
    photo.write_bytes(tiny_png())

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/gate/register/{carrier.registration_key}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.fill("input[name=plate]", "苏d12345")
    page.select_option("select[name=plate_color]", "yellow")
    page.fill("input[name=vin]", "LFV2A21K057000008")  # check digit does not match: a warning
    page.select_option("select[name=stage]", "6")
    page.set_input_files("input[name=licence_photos]", str(photo))
    page.set_input_files("input[name=list_photos]", str(photo))
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".warnings")
    assert not Vehicle.objects.exists()
    page.check("input[name=confirm_warnings]")
    page.set_input_files("input[name=licence_photos]", str(photo))  # files are not kept by the browser
    page.set_input_files("input[name=list_photos]", str(photo))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("text=苏D12345")
    vehicle = Vehicle.objects.get()
    assert (vehicle.state, vehicle.source) == ("pending", "carrier")

    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("env", password="x-Pass-1234")
    user.groups.add(Group.objects.get(name="environmental_manager"))
    Person.objects.create(user=user, name="环保").sites.add(site)
    desk = browser.new_context(locale="zh-CN").new_page()
    desk.goto(f"{live_server.url}/login/?next=/gate/review/")
    desk.fill("input[name=username]", "env")
    desk.fill("input[name=password]", "x-Pass-1234")
    desk.click("#login-submit")
    desk.wait_for_url("**/gate/review/")
    item = desk.locator(".review-item[data-plate='苏D12345']")
    assert item.locator("img").count() == 2
    item.locator("button[name=approve][value='1']").click()
    desk.wait_for_load_state()
    vehicle.refresh_from_db()
    assert vehicle.state == "approved" and vehicle.reviewed_by == user
    context.close()
    assert not errors, errors
