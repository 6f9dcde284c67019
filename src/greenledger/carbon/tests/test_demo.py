"""The carbon demo: fast, idempotent, and its year of figures tells the story."""

import datetime
import io

import pytest
from django.utils import timezone

from greenledger.carbon import charts, demo, engine
from greenledger.carbon.models import ActivityRecord, GreenCertificate, MeasureEffect
from greenledger.core import demo as core_demo
from greenledger.core.models import Site
from greenledger.measures import demo as measures_demo

pytestmark = pytest.mark.django_db


def test_demo_year_is_idempotent_and_names_its_factors():
    core_demo.load()
    sites = measures_demo.ensure_sites()
    measures_demo.ensure_catalogue(sites)
    out = io.StringIO()
    demo.load(stdout=out)
    rows = ActivityRecord.objects.count()
    demo.load(stdout=out)
    assert ActivityRecord.objects.count() == rows
    assert set(MeasureEffect.objects.values_list("measure__code", flat=True)) == set(demo.EFFECTS)
    assert GreenCertificate.objects.count() >= 3
    site = Site.objects.get(code=core_demo.SITE_CODE)
    last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    content = engine.to_dict(engine.compute(site, *engine.month_bounds(last.year, last.month)))
    assert {"grid-cn-east-2023", "fuel-natural-gas-gbt32150"} <= {f["code"] for f in content["factors"]}
    assert content["intensity"] and float(content["totals"]["total"]) > 0
    welding = charts.dashboard_data(Site.objects.get(code="nantong-wind"))["measures"]
    assert [(m["code"], m["before"], m["after"]) for m in welding] == [("W-WLD-01", 8.0, 5.0)]
