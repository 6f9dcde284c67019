"""Forms of telemetry: a measuring point (测点), created or edited on the web or row by row from an
Excel sheet (:mod:`greenledger.telemetry.point_sheet` runs every row through this same form).

Scope: the site, workshop and equipment choices are the user's sites. Rules beyond the model's:

- the code is the last part of the MQTT topic ``greenledger/<site>/<code>``: no spaces, ``+`` or
  ``#`` (MQTT wildcards), no leading or trailing ``/``;
- workshop and equipment belong to the chosen site, and the equipment stands in the workshop;
- consumption meters use units the carbon accounting converts (kWh/MWh, m³/万m³, t/kg; power in kW);
- only amounts (kWh, m³, t, …) can be cumulative counters; only electricity can be own generation;
- an OPC UA point names its node; the valid minimum is not above the maximum.

Once a point holds data its site, code and counter kind stay: devices publish to its topic, past
activity data names its code, and the rollups were computed for its kind. A different meter is
a new point.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Equipment, Site, Workshop

from .models import MeasuringPoint, Quantity, Reading, RollupDay, Source

CODE_RULE = re.compile(r"^[^\s+#]+$")
UNITS = {
    Quantity.ELECTRICITY: ["kWh", "MWh", "GWh", "度", "千瓦时"],
    Quantity.POWER: ["kW"],
    Quantity.NATURAL_GAS: ["m³", "m3", "Nm³", "Nm3", "万m³", "万m3", "万Nm³"],
    Quantity.STEAM: ["t", "吨", "kg"],
}
AMOUNTS = {Quantity.ELECTRICITY, Quantity.NATURAL_GAS, Quantity.STEAM, Quantity.WATER, Quantity.FLOW,
           Quantity.OTHER}


def has_data(point):
    return point.pk is not None and (RollupDay.objects.filter(point=point).exists()
                                     or Reading.objects.filter(point=point).exists())


class PointForm(forms.ModelForm):
    """Create or edit a measuring point of one of ``sites``.

    ``strict`` (sheet import): fields that may not change are checked and reported instead of
    being shown disabled.
    """

    class Meta:
        model = MeasuringPoint
        fields = ["site", "code", "name", "workshop", "equipment", "quantity", "unit", "cumulative", "generation",
                  "expected_interval_seconds", "valid_min", "valid_max", "source", "opcua_node_id", "active"]

    def __init__(self, *args, sites=None, strict=False, **kwargs):
        super().__init__(*args, **kwargs)
        sites = sites if sites is not None else Site.objects.none()
        many = sites.count() > 1
        self.fields["site"].queryset = sites
        self.fields["workshop"].queryset = Workshop.objects.filter(site__in=sites).select_related("site")
        self.fields["equipment"].queryset = Equipment.objects.filter(workshop__site__in=sites).select_related(
            "workshop__site")
        if many:
            self.fields["workshop"].label_from_instance = lambda w: f"{w.site.name} · {w.name}"
            self.fields["equipment"].label_from_instance = lambda e: f"{e.workshop.site.name} · {e}"
        elif not self.instance.pk and sites.count() == 1:
            self.fields["site"].initial = sites.first()
        self.fields["code"].help_text = _("Unique within the site, e.g. FAN-01.freq. Devices publish to the MQTT "
                                          "topic greenledger/<site code>/<point code>.")
        self.fields["unit"].help_text = _("Empty: the quantity's usual unit (kWh, kW, m³, t, °C, Hz).")
        self.fields["workshop"].help_text = _("Empty: the equipment's workshop.")
        self.locked = has_data(self.instance)
        self.strict = strict
        if self.instance.pk is not None and not strict:
            self.fields["site"].disabled = True
            self.fields["site"].help_text = _("A point stays at its site.")
            if self.locked:
                for name in ("code", "cumulative"):
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _("This point has readings: its code and counter kind stay. "
                                                    "Add a new point for a different meter.")

    def unchanged(self, name, value):
        """``value``, unless it changes a field that must stay (strict mode; the web form disables them)."""
        if self.instance.pk is None or self.fields[name].disabled or value == getattr(self.instance, name):
            return value
        if name == "site":
            raise ValidationError(_("A point stays at its site."), code="locked")
        if self.locked:
            raise ValidationError(_("This point has readings: its code and counter kind stay. Add a new point "
                                    "for a different meter."), code="locked")
        return value

    def clean_site(self):
        return self.unchanged("site", self.cleaned_data["site"])

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not CODE_RULE.match(code) or code.startswith("/") or code.endswith("/"):
            raise ValidationError(_("The code is part of the MQTT topic: no spaces, '+' or '#', and no '/' at its "
                                    "start or end."), code="invalid")
        return self.unchanged("code", code)

    def clean_cumulative(self):
        return self.unchanged("cumulative", self.cleaned_data["cumulative"])

    def clean(self):
        data = super().clean()
        site, workshop, equipment = data.get("site"), data.get("workshop"), data.get("equipment")
        if site is not None:
            if workshop is not None and workshop.site_id != site.pk:
                self.add_error("workshop", ValidationError(_("This workshop is not at the chosen site."),
                                                           code="site"))
            if equipment is not None and equipment.workshop.site_id != site.pk:
                self.add_error("equipment", ValidationError(_("This equipment is not at the chosen site."),
                                                            code="site"))
            elif equipment is not None and workshop is not None and equipment.workshop_id != workshop.pk:
                self.add_error("equipment", ValidationError(
                    _("This equipment stands in %(workshop)s, not in the chosen workshop.")
                    % {"workshop": equipment.workshop.name}, code="workshop"))
        quantity, unit = data.get("quantity"), (data.get("unit") or "").strip()
        allowed = UNITS.get(quantity)
        if allowed and unit and unit not in allowed:
            self.add_error("unit", ValidationError(
                _("Carbon accounting converts this quantity only from %(units)s.") % {"units": ", ".join(allowed)},
                code="unit"))
        if data.get("cumulative") and quantity and quantity not in AMOUNTS:
            self.add_error("cumulative", ValidationError(
                _("Only amounts (kWh, m³, t …) are counted up; a %(quantity)s is a value at a moment.")
                % {"quantity": Quantity(quantity).label}, code="cumulative"))
        if data.get("generation") and quantity not in (Quantity.ELECTRICITY, Quantity.POWER):
            self.add_error("generation", ValidationError(_("Only an electricity or power point can measure own "
                                                           "generation."), code="generation"))
        if data.get("source") == Source.OPCUA and not (data.get("opcua_node_id") or "").strip():
            self.add_error("opcua_node_id", ValidationError(_("An OPC UA point needs its node id, e.g. "
                                                              "ns=2;s=FAN-01.Frequency."), code="required"))
        low, high = data.get("valid_min"), data.get("valid_max")
        if low is not None and high is not None and low > high:
            self.add_error("valid_max", ValidationError(_("The maximum is below the minimum."), code="range"))
        return data
