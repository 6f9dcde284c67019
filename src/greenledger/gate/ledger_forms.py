"""Filters and forms of the gate ledgers: the passage ledger, the exceptions report, usage and transport records.

The passage filter takes its time window to the minute (``2025-01-10T08:05``), because reviewers
compare a 5–10 minute window of the ledger against the gate video (gate.md §1.2). The same filter
serves the page, its Excel and PDF downloads and ``GET /api/gate/passages``.
"""

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


from .codes import Decision, Direction, EmissionStage
from .models import (
    ActionKind, Carrier, Gate, InPlantVehicle, Machine, Passage, PassageAction, TransportMode, TransportRecord,
    UsageRecord, VehicleKind,
)
from .validation import normalize_plate

MINUTE_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MinuteFilter(django_filters.DateTimeFilter):
    """A moment typed to the minute in the local time zone (a bare date means its midnight)."""

    field_class = forms.DateTimeField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", MINUTE_FORMATS)
        kwargs.setdefault("widget", DATETIME)
        super().__init__(*args, **kwargs)


class YesAll(django_filters.widgets.BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", _("All")), ("true", _("Yes")), ("false", _("No")))


class PassageFilterSet(django_filters.FilterSet):
    start = MinuteFilter(field_name="occurred_at", lookup_expr="gte", label=_("From"))
    end = MinuteFilter(field_name="occurred_at", lookup_expr="lt", label=_("Until"))
    plate = django_filters.CharFilter(method="filter_plate", label=_("Plate"))
    gate = django_filters.ModelChoiceFilter(queryset=Gate.objects.all(), label=_("Gate"))
    direction = django_filters.ChoiceFilter(choices=Direction.choices, label=_("Direction"))
    decision = django_filters.ChoiceFilter(choices=Decision.choices, label=_("Decision"))
    final_decision = django_filters.ChoiceFilter(choices=Decision.choices, label=_("Final decision"))
    stage = django_filters.ChoiceFilter(choices=EmissionStage.choices, label=_("Emission stage"))
    vehicle_kind = django_filters.ChoiceFilter(choices=VehicleKind.choices, label=_("Registry"))
    carrier = django_filters.ModelChoiceFilter(queryset=Carrier.objects.all(), method="filter_carrier",
                                               label=_("Carrier / fleet"))
    manual = django_filters.BooleanFilter(method="filter_manual", widget=YesAll(), label=_("Handled by hand"))

    class Meta:
        model = Passage
        fields = []

    def filter_plate(self, queryset, name, value):
        plate = normalize_plate(value)
        return queryset.filter(plate__contains=plate) if plate else queryset

    def filter_carrier(self, queryset, name, value):
        # the carrier as registered when the vehicle passed (the ledger's copy), not as it is now
        return queryset.filter(carrier_name=value.name)

    def filter_manual(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(handled_by_id__isnull=not value)


class ExceptionFilterSet(django_filters.FilterSet):
    start = MinuteFilter(field_name="occurred_at", lookup_expr="gte", label=_("From"))
    end = MinuteFilter(field_name="occurred_at", lookup_expr="lt", label=_("Until"))
    kind = django_filters.ChoiceFilter(choices=[(ActionKind.RELEASE, ActionKind.RELEASE.label),
                                                (ActionKind.BLOCK, ActionKind.BLOCK.label)], label=_("Action"))
    gate = django_filters.ModelChoiceFilter(queryset=Gate.objects.all(), field_name="passage__gate",
                                            label=_("Gate"))
    plate = django_filters.CharFilter(method="filter_plate", label=_("Plate"))

    class Meta:
        model = PassageAction
        fields = []

    def filter_plate(self, queryset, name, value):
        plate = normalize_plate(value)
        return queryset.filter(passage__plate__contains=plate) if plate else queryset


class UsageFilterSet(django_filters.FilterSet):
    start = MinuteFilter(field_name="started_at", lookup_expr="gte", label=_("From"))
    end = MinuteFilter(field_name="started_at", lookup_expr="lt", label=_("Until"))
    in_plant_vehicle = django_filters.ModelChoiceFilter(queryset=InPlantVehicle.objects.all(),
                                                        label=_("In-plant vehicle"))
    machine = django_filters.ModelChoiceFilter(queryset=Machine.objects.all(), label=_("Non-road machine"))

    class Meta:
        model = UsageRecord
        fields = []


class TransportFilterSet(django_filters.FilterSet):
    start = django_filters.DateFilter(field_name="period_end", lookup_expr="gte", widget=DATE, label=_("From"))
    end = django_filters.DateFilter(field_name="period_start", lookup_expr="lte", widget=DATE, label=_("Until"))
    mode = django_filters.ChoiceFilter(choices=TransportMode.choices, label=_("Transport mode"))
    direction = django_filters.ChoiceFilter(choices=Direction.choices, label=_("Direction"))

    class Meta:
        model = TransportRecord
        fields = []


def narrow_to_sites(filterset, sites):
    """Offer only the gates, carriers, vehicles and machines of the user's sites."""
    fields = filterset.form.fields
    for name in ("gate", "carrier", "in_plant_vehicle", "machine"):
        if name in fields:
            fields[name].queryset = fields[name].queryset.filter(site__in=sites)
    return filterset


# Forms -------------------------------------------------------------------------------------------


class UsageRecordForm(forms.ModelForm):
    """One use of an in-plant vehicle or a machine (exactly one of the two)."""

    class Meta:
        model = UsageRecord
        fields = ["site", "in_plant_vehicle", "machine", "workshop", "started_at", "ended_at", "operator_name",
                  "hours", "fuel_litres", "note"]
        widgets = {"started_at": DATETIME, "ended_at": DATETIME, "note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("started_at", "ended_at"):
            self.fields[name].input_formats = MINUTE_FORMATS
        if sites is not None:
            self.fields["site"].queryset = sites
            for name in ("in_plant_vehicle", "machine", "workshop"):
                self.fields[name].queryset = self.fields[name].queryset.filter(site__in=sites)
        if sites is not None and sites.count() == 1:
            self.fields["site"].initial = sites.first()

    def clean(self):
        data = super().clean()
        vehicle, machine, site = data.get("in_plant_vehicle"), data.get("machine"), data.get("site")
        if bool(vehicle) == bool(machine):
            raise ValidationError(_("Choose either an in-plant vehicle or a non-road machine."), code="one_of")
        used = vehicle or machine
        if site is not None and used.site_id != site.pk:
            self.add_error("site", ValidationError(_("The vehicle or machine belongs to another site."),
                                                   code="site"))
        workshop = data.get("workshop")
        if site is not None and workshop is not None and workshop.site_id != site.pk:
            self.add_error("workshop", ValidationError(_("This workshop belongs to another site."), code="site"))
        start, end = data.get("started_at"), data.get("ended_at")
        if start and end and end < start:
            self.add_error("ended_at", ValidationError(_("The end is before the start."), code="order"))
        if start and start > timezone.now() + datetime.timedelta(minutes=5):
            self.add_error("started_at", ValidationError(_("The start lies in the future."), code="future"))
        return data


class TransportRecordForm(forms.ModelForm):
    """Tonnes moved by one transport mode in a period, with the document it comes from."""

    class Meta:
        model = TransportRecord
        fields = ["site", "period_start", "period_end", "direction", "mode", "cargo_name", "tonnes", "source_doc"]
        widgets = {"period_start": DATE, "period_end": DATE}

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            self.fields["site"].queryset = sites
            if sites.count() == 1:
                self.fields["site"].initial = sites.first()

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", ValidationError(_("The end is before the start."), code="order"))
        tonnes = data.get("tonnes")
        if tonnes is not None and tonnes <= 0:
            self.add_error("tonnes", ValidationError(_("Tonnes must be more than zero."), code="range"))
        return data


# Columns of the transport Excel import: field -> accepted headers (Chinese or English)
TRANSPORT_COLUMNS = {
    "site": ["厂区代码", "Site code"],
    "period_start": ["开始日期", "From"],
    "period_end": ["结束日期", "Until"],
    "direction": ["方向", "Direction"],
    "mode": ["运输方式", "Transport mode"],
    "cargo_name": ["货物", "Cargo"],
    "tonnes": ["吨数", "Tonnes"],
    "source_doc": ["单据", "Source document"],
}

DIRECTION_WORDS = {"in": Direction.IN, "进": Direction.IN, "进厂": Direction.IN, "入厂": Direction.IN,
                   "entry": Direction.IN, "out": Direction.OUT, "出": Direction.OUT, "出厂": Direction.OUT,
                   "exit": Direction.OUT}
MODE_WORDS = {"铁路": TransportMode.RAIL, "水路": TransportMode.WATER, "水运": TransportMode.WATER,
              "管道": TransportMode.PIPELINE, "皮带": TransportMode.BELT, "管状带式输送机": TransportMode.BELT,
              "带式输送机": TransportMode.BELT, "新能源汽车": TransportMode.ROAD_NEV, "新能源": TransportMode.ROAD_NEV,
              "公路": TransportMode.ROAD, "汽车": TransportMode.ROAD}


def transport_sheet_rows(uploaded_file, sites, user):
    """Validate every row of a transport sheet; (unsaved records, problems as (row, column, message))."""
    from greenledger.core.excel import read_sheet

    by_code = {site.code: site for site in sites}
    records, problems = [], []
    for number, values in read_sheet(uploaded_file, TRANSPORT_COLUMNS):
        site = by_code.get(str(values["site"]).strip()) or (next(iter(by_code.values())) if len(by_code) == 1
                                                           and not values["site"] else None)
        data = {
            "site": site.pk if site else None,
            "period_start": sheet_date(values["period_start"]), "period_end": sheet_date(values["period_end"]),
            "direction": DIRECTION_WORDS.get(str(values["direction"]).strip().lower(), values["direction"]),
            "mode": MODE_WORDS.get(str(values["mode"]).strip(), str(values["mode"]).strip().lower()),
            "cargo_name": values["cargo_name"], "tonnes": values["tonnes"], "source_doc": values["source_doc"],
        }
        form = TransportRecordForm(data, sites=sites)
        if site is None:
            problems.append((number, TRANSPORT_COLUMNS["site"][0], _("Unknown site code or site outside your scope.")))
        elif form.is_valid():
            record = form.save(commit=False)
            record.entered_by = user
            records.append(record)
        else:
            for name, errors in form.errors.items():
                column = TRANSPORT_COLUMNS.get(name, [name])[0] if name != "__all__" else ""
                problems.extend((number, column, message) for message in errors)
    return records, problems


def sheet_date(value):
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()
