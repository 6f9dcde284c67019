"""Core domain services: equipment import from Excel."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _, gettext_lazy

from .excel import SheetError
from .forms import EquipmentForm
from .models import Equipment, Workshop

EQUIPMENT_COLUMNS = {
    "site": [gettext_lazy("Site code"), "厂区编码", "Site code"],
    "workshop": [gettext_lazy("Workshop code"), "车间编码", "Workshop code"],
    "code": [gettext_lazy("Equipment code"), "设备编码", "Equipment code"],
    "name": [gettext_lazy("Name"), "名称", "Name"],
    "equipment_type": [gettext_lazy("Type"), "类型", "Type"],
    "location": [gettext_lazy("Location"), "位置", "Location"],
    "tag_id": [gettext_lazy("NFC/QR tag"), "NFC/QR 标签", "NFC/QR tag"],
    "rated_power_kw": [gettext_lazy("Rated power (kW)"), "额定功率 (kW)", "Rated power (kW)"],
}


@transaction.atomic
def import_equipment(rows, sites):
    """Create or update equipment from sheet rows; all rows valid or nothing is written."""
    problems, forms = [], []
    for number, values in rows:
        workshop = Workshop.objects.filter(
            site__in=sites, site__code=str(values["site"]), code=str(values["workshop"])
        ).first()
        if workshop is None:
            problems.append((number, str(EQUIPMENT_COLUMNS["workshop"][0]),
                             _("No workshop %(ws)s at site %(site)s in your scope") % {
                                 "ws": values["workshop"], "site": values["site"]}))
            continue
        power = values.get("rated_power_kw")
        if power not in ("", None):
            try:
                power = Decimal(str(power)).quantize(Decimal("0.01"))
            except InvalidOperation:
                problems.append((number, str(EQUIPMENT_COLUMNS["rated_power_kw"][0]), _("Not a number")))
                continue
        existing = Equipment.objects.filter(workshop=workshop, code=str(values["code"])).first()
        data = {
            "workshop": workshop.pk, "code": str(values["code"]), "name": str(values["name"]),
            "equipment_type": str(values.get("equipment_type") or ""), "location": str(values.get("location") or ""),
            "tag_id": str(values.get("tag_id") or ""), "rated_power_kw": power if power != "" else None,
            "in_service": existing.in_service if existing else True,
        }
        form = EquipmentForm(data, instance=existing, sites=sites)
        if not form.is_valid():
            for field, errors in form.errors.items():
                column = EQUIPMENT_COLUMNS.get(field, [field])[0]
                problems.extend((number, str(column), str(error)) for error in errors)
            continue
        forms.append((form, existing is None))
    if problems:
        raise SheetError(problems)
    for form, _new in forms:
        form.save()
    created = sum(1 for _form, new in forms if new)
    return created, len(forms) - created
