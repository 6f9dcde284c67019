"""Small builders for carbon tests (no fixture files)."""

import datetime
from decimal import Decimal

from greenledger.carbon import services
from greenledger.carbon.models import SiteCarbonProfile
from greenledger.core.models import Enterprise, Equipment, Site, Workshop

D = Decimal
MARCH = (datetime.date(2025, 3, 1), datetime.date(2025, 3, 31))


def make_plant(code="cell-plant", region="national"):
    enterprise, _ = Enterprise.objects.get_or_create(name=f"企业 {code}")
    site = Site.objects.create(enterprise=enterprise, code=code, name=f"工厂 {code}", industry="lithium")
    coating = Workshop.objects.create(site=site, code="coating", name="涂布", sequence=2)
    assembly = Workshop.objects.create(site=site, code="assembly", name="电芯封装", sequence=3)
    Equipment.objects.create(workshop=coating, code="COAT-01", name="涂布机", rated_power_kw=280)
    Equipment.objects.create(workshop=assembly, code="FAN-01", name="通风风机", rated_power_kw=37)
    SiteCarbonProfile.objects.create(site=site, grid_region=region)
    return site


def activity(site, code, quantity, unit, period=MARCH, workshop=None, equipment=None, **extra):
    ws = site.workshops.get(code=workshop) if workshop else None
    eq = Equipment.objects.get(workshop__site=site, code=equipment) if equipment else None
    record, _ = services.record_activity(site=site, activity=code, quantity=quantity, unit=unit,
                                         period_start=period[0], period_end=period[1], workshop=ws, equipment=eq,
                                         **extra)
    return record
