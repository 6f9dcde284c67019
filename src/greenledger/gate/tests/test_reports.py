"""The evidence pack for the performance-rating review: a reproducible random sample with images, the
video window, normal and alert days, the checkpoint; as PDF and Excel."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from greenledger.core.demo import tiny_png
from greenledger.core.attachments import attach
from greenledger.evidence.services import take_checkpoint
from greenledger.gate import evidence_pack

from .factories import make_gate
from .test_ledger import make_passage

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 1, 10)


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def ledger(site):
    from django.core.files.base import ContentFile

    gate = make_gate(site)
    for number in range(30):
        day = DAY + datetime.timedelta(days=number % 6)
        passage = make_passage(site, gate, at=at(day, 8, number), plate=f"苏D1{number:04d}",
                               alert_level="orange" if day == DAY + datetime.timedelta(days=2) else "none")
        if number % 5 == 0:
            attach(passage, ContentFile(tiny_png(), name="plate.png"), caption="plate")
    take_checkpoint()
    return site


def sample_plates(site, seed, size=8):
    pack = evidence_pack.build_pack(site, DAY, DAY + datetime.timedelta(days=5), seed=seed, sample_size=size)
    return [p.plate for p in pack.sample]


def test_the_same_seed_draws_the_same_sample_and_another_seed_another(ledger):
    assert sample_plates(ledger, 42) == sample_plates(ledger, 42)
    assert sample_plates(ledger, 42) != sample_plates(ledger, 43)


@pytest.mark.parametrize("asked, drawn", [(2, 5), (8, 8), (50, 10)])
def test_the_sample_has_five_to_ten_passages(ledger, asked, drawn):
    assert len(sample_plates(ledger, 1, asked)) == drawn


def test_pack_separates_normal_days_from_alert_days_and_lists_the_window(ledger):
    pack = evidence_pack.build_pack(ledger, DAY, DAY + datetime.timedelta(days=5), seed=1,
                                    window_start=at(DAY, 8, 0), window_end=at(DAY, 8, 10))
    assert [d.day for d in pack.alert_days] == [DAY + datetime.timedelta(days=2)]
    assert 3 <= len(pack.normal_days) <= 5 and all(not d.is_alert for d in pack.normal_days)
    assert [p.plate for p in pack.window] == ["苏D10000", "苏D10006"]
    assert pack.checkpoint is not None


def test_pack_downloads_print_the_seed_and_the_checkpoint(client, ledger, role_user, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(role_user("auditor", ledger))
    query = {"site": ledger.code, "start": DAY.isoformat(), "end": (DAY + datetime.timedelta(days=5)).isoformat(),
             "seed": "777", "window_start": "2025-01-10T08:00", "window_end": "2025-01-10T08:10"}
    response = client.get(reverse("gate:evidence_pack"), {**query, "export": "xlsx"})
    assert "seed777" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    cover = {row[0].value: row[1].value for row in book.worksheets[0].iter_rows()}
    assert cover["Random sample seed"] == 777 and cover["Evidence checkpoint: tree size"]
    sample = book["Random sample"]
    assert sample.max_row == 9 and "Evidence leaf" in [c.value for c in sample[1]]
    pdf = client.get(reverse("gate:evidence_pack"), {**query, "export": "pdf"})
    assert pdf.content.startswith(b"%PDF")


def test_a_window_longer_than_two_hours_is_refused(client, ledger, role_user):
    client.force_login(role_user("auditor", ledger))
    response = client.get(reverse("gate:evidence_pack"), {"site": ledger.code, "window_start": "2025-01-10T08:00",
                                                           "window_end": "2025-01-10T18:00", "export": "pdf"})
    assert response.status_code == 200 and response.context["error"]
