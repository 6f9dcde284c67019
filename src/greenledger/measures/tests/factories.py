"""Small builders for measure-ledger tests (no fixture files)."""

import datetime

from django.contrib.auth.models import Group
from django.utils import timezone

from greenledger.core.models import Enterprise, Equipment, Person, Site, Workshop
from greenledger.measures.models import Measure, MeasureParameter


def make_site(code="plant", industry="lithium"):
    enterprise, _ = Enterprise.objects.get_or_create(name=f"企业 {code}")
    site = Site.objects.create(enterprise=enterprise, code=code, name=f"工厂 {code}", industry=industry)
    stage = Workshop.objects.create(site=site, code="assembly", name="电芯封装", sequence=3)
    Equipment.objects.create(workshop=stage, code="SEAL-01", name="真空封口机", tag_id=f"NFC-{code}-SEAL")
    return site


def make_person(site, role, username, django_user_model):
    user = django_user_model.objects.create_user(username, password="x-Pass-1234")
    user.groups.add(Group.objects.get(name=role))
    person = Person.objects.create(user=user, name=f"{username} 名")
    person.sites.add(site)
    return person


def make_measure(site, code="SEAL-TEST", schedule="per_shift", grace=60, measure_type="inspection", params=True,
                 photo=False, **extra):
    stage = site.workshops.first()
    measure = Measure.objects.create(
        site=site, stage=stage, code=code, name=extra.pop("name", "封装密封性检测"), measure_type=measure_type,
        purpose="both", schedule=schedule, grace_minutes=grace, equipment=stage.equipment.first(),
        photo_required=photo, **extra,
    )
    if params:
        MeasureParameter.objects.create(measure=measure, code="pass_rate", name="合格率", unit="%",
                                        min_value=95, max_value=100)
        MeasureParameter.objects.create(measure=measure, code="pressure", name="检测压力", unit="kPa", min_value=80,
                                        max_value=120, required=False)
    return measure


def minutes_ago(n):
    return timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=n)
