"""The point chart in a real browser (Debian chromium via Playwright): a reading published with
``mosquitto_pub`` to the real Mosquitto, stored by a running ingest worker, is the last point of
the ECharts series on the point's page; without Mosquitto, readings stored through the intake
service are drawn the same way."""

import datetime
import json
import shutil
import subprocess
import threading
import time
import uuid

import pytest
from django.db import close_old_connections, connection

from conftest import restore_roles, service_or_skip
from greenledger.telemetry import services
from greenledger.telemetry.models import Reading

from .factories import make_point, recent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MQTT = ("127.0.0.1", 1883)
PASSWORD = "x-Pass-1234"


def publish(topic, payload):
    """``mosquitto_pub`` as a gateway would run it (paho when the client tools are missing)."""
    message = json.dumps(payload)
    if shutil.which("mosquitto_pub"):
        subprocess.run(["mosquitto_pub", "-h", MQTT[0], "-p", str(MQTT[1]), "-q", "1", "-t", topic, "-m", message],
                       check=True, timeout=10)
        return
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"gltest-pub-{uuid.uuid4().hex[:6]}")
    client.connect(*MQTT)
    client.loop_start()
    client.publish(topic, message, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


class RunningWorker:
    """``greenledger ingest-mqtt`` in a thread: subscribe under its own topic prefix, store until stopped."""

    def __init__(self, prefix):
        from greenledger.telemetry.mqtt import Worker

        self.worker = Worker(*MQTT, prefix=prefix, flush_ms=50)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            self.worker.run_forever(stopping=self.stopping.is_set)
        finally:
            connection.close()

    def __enter__(self):
        self.worker.start()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(10)
        self.worker.stop()


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def chart_page(live_server, browser, site, role_user):
    """A point with an hour of readings, and a function that opens its page logged in and returns the
    series the chart really holds (from the ECharts instance)."""
    restore_roles()
    user = role_user("carbon_manager", site)
    point = make_point(site, code="FAN-01.freq", valid_min=0, valid_max=60)
    services.ingest([(point, recent(m), 30.0 + m / 100) for m in range(60, 1, -1)], "mqtt")
    page = browser.new_page(locale="zh-CN", timezone_id="Asia/Shanghai")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state()

    def series():
        page.goto(f"{live_server.url}/telemetry/points/{point.pk}/?period=1d")
        page.wait_for_function(
            "() => window.echarts && echarts.getInstanceByDom(document.getElementById('point-chart'))")
        assert page.locator("#point-chart canvas").count() == 1
        data = page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('point-chart')).getOption().series[0].data")
        assert not errors, errors
        return data

    return point, series


def test_a_reading_published_to_mosquitto_shows_up_in_the_chart(chart_page, site):
    service_or_skip(*MQTT, "Mosquitto")
    point, series = chart_page
    assert [v for _t, v in series()][-1] == pytest.approx(30.02)
    prefix = f"gltest-{uuid.uuid4().hex[:8]}"
    ts = recent(1) + datetime.timedelta(seconds=30)  # after the last stored reading, never in the future
    with RunningWorker(prefix):
        publish(f"{prefix}/{site.code}/{point.code}", {"ts": ts.isoformat(), "v": 42.5})
        assert wait_for(lambda: Reading.objects.filter(point=point, value=42.5).exists()), "reading not stored"
    data = series()
    assert len(data) == 60
    last_ts, last_value = data[-1]
    assert last_value == 42.5
    shown = datetime.datetime.fromisoformat(last_ts) if isinstance(last_ts, str) else \
        datetime.datetime.fromtimestamp(last_ts / 1000, datetime.UTC)
    assert shown == ts  # the device's time, not the time it arrived


def test_readings_stored_through_the_service_are_drawn(chart_page):
    point, series = chart_page
    services.ingest([(point, recent(1) + datetime.timedelta(seconds=10), 55.5)], "http")
    data = series()
    assert len(data) == 60 and data[-1][1] == 55.5
    assert [v for _t, v in data][:2] == [pytest.approx(30.6), pytest.approx(30.59)]
