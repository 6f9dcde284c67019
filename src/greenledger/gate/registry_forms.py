"""Forms of the gate registries: the three ledgers, carriers, review, photos, lists, imports and filters.

Registry forms run the checks of ``validation.py``: errors stop the save, warnings (e.g. a VIN
whose check digit does not match) are shown and the entry is saved once the user ticks
"confirm". The same checks serve the API and the Excel import.
"""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Site

from . import validation
from .codes import NRMM_STAGES, ROAD_STAGES, EmissionStage, Fuel, RegistrationSource, RegistrationState
from .models import Carrier, InPlantVehicle, ListEntry, ListKind, Machine, Vehicle

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
PHOTO_ACCEPT = "image/*,application/pdf"

# Evidence documents per registry (stored as attachment captions; names as on the documents)
DOCUMENTS = {
    "vehicle": ["行驶证", "随车清单"],
    "inplant": ["行驶证", "随车清单"],
    "machine": ["整机铭牌", "发动机铭牌", "环保信息标签"],
}
DOCUMENT_HELP = {
    "行驶证": _("Vehicle registration certificate (行驶证)"),
    "随车清单": _("Environmental information list carried with the vehicle (随车清单)"),
    "整机铭牌": _("Machine nameplate (整机铭牌)"),
    "发动机铭牌": _("Engine nameplate (发动机铭牌)"),
    "环保信息标签": _("Environmental information label (环保信息标签)"),
}


def stage_choices(stages):
    return [(s.value, s.label) for s in (*stages, EmissionStage.UNKNOWN)]


class ConfirmWarnings(forms.Form):
    """Mixin: run a registry check in ``clean``; warnings block the save until ``confirm_warnings``."""

    confirm_warnings = forms.BooleanField(label=_("I have checked the warnings above; save anyway"),
                                          required=False)
    checker = None
    normalized = ("plate", "trailer_plate")
    coded = ("vin", "machine_code")

    def clean(self):
        data = super().clean()
        for name in self.normalized:
            if data.get(name):
                data[name] = validation.normalize_plate(data[name])
        for name in self.coded:
            if data.get(name):
                data[name] = validation.normalize_code(data[name])
        self.warnings = []
        check = type(self).checker(data)
        for problem in check.errors:
            self.add_error(problem.field if problem.field in self.fields else None,
                           forms.ValidationError(problem.message, code=problem.rule))
        if check.ok and check.warnings and not data.get("confirm_warnings"):
            self.warnings = check.warnings
            self.add_error("confirm_warnings", forms.ValidationError(
                _("Please check the warnings and confirm, or correct the entry."), code="confirm"))
        return data


class ScopedRegistryForm(ConfirmWarnings, forms.ModelForm):
    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        sites = sites if sites is not None else Site.objects.all()
        self.fields["site"].queryset = sites
        if sites.count() == 1 and not self.instance.pk:
            self.fields["site"].initial = sites.first()
        if "carrier" in self.fields:
            self.fields["carrier"].queryset = Carrier.objects.filter(site__in=sites)
        # keep the confirmation box last
        self.order_fields([name for name in self.fields if name != "confirm_warnings"] + ["confirm_warnings"])

    def clean(self):
        data = super().clean()
        carrier, site = data.get("carrier"), data.get("site")
        if carrier is not None and site is not None and carrier.site_id != site.pk:
            self.add_error("carrier", _("This carrier belongs to another site."))
        return data


ENGINE_FIELDS = ["engine_model", "engine_maker", "engine_no", "fuel", "stage", "owner", "network_status"]


class VehicleForm(ScopedRegistryForm):
    checker = staticmethod(validation.check_vehicle)

    class Meta:
        model = Vehicle
        fields = ["site", "plate", "plate_color", "trailer_plate", "vin", "vehicle_type", "category", "vehicle_class",
                  "brand_model", *ENGINE_FIELDS, "registration_date", "use_nature", "carrier", "gross_mass_kg",
                  "special_purpose", "hazmat", "remarks"]
        widgets = {"registration_date": DATE, "remarks": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = stage_choices(ROAD_STAGES)


class InPlantVehicleForm(ScopedRegistryForm):
    checker = staticmethod(validation.check_in_plant_vehicle)

    class Meta:
        model = InPlantVehicle
        fields = ["site", "registration_code", "plate", "plate_color", "vin", "brand_model", *ENGINE_FIELDS,
                  "production_date", "registration_date", "remarks"]
        widgets = {"production_date": DATE, "registration_date": DATE, "remarks": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = stage_choices(ROAD_STAGES)


class MachineForm(ScopedRegistryForm):
    checker = staticmethod(validation.check_machine)

    class Meta:
        model = Machine
        fields = ["site", "registration_code", "machine_code", "machine_type", "model", "maker", "rated_power_kw",
                  *ENGINE_FIELDS, "production_date", "plate", "disclosure_no", "remarks"]
        widgets = {"production_date": DATE, "remarks": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = stage_choices(NRMM_STAGES)


class CarrierForm(forms.ModelForm):
    class Meta:
        model = Carrier
        fields = ["site", "name", "credit_code", "contact", "phone", "registration_open"]

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        sites = sites if sites is not None else Site.objects.all()
        self.fields["site"].queryset = sites
        if sites.count() == 1 and not self.instance.pk:
            self.fields["site"].initial = sites.first()


class CarrierRegistrationForm(ConfirmWarnings, forms.ModelForm):
    """What a carrier fills in on its phone: the vehicle and photos of its two documents."""

    checker = staticmethod(validation.check_vehicle)
    licence_photos = forms.FileField(label=DOCUMENT_HELP["行驶证"],
                                     widget=forms.ClearableFileInput(attrs={"accept": PHOTO_ACCEPT}))
    list_photos = forms.FileField(label=DOCUMENT_HELP["随车清单"],
                                  widget=forms.ClearableFileInput(attrs={"accept": PHOTO_ACCEPT}))

    class Meta:
        model = Vehicle
        fields = ["plate", "plate_color", "trailer_plate", "vin", "vehicle_type", "category", "brand_model",
                  "engine_model", "engine_maker", "engine_no", "fuel", "stage", "registration_date", "use_nature",
                  "owner", "network_status", "remarks"]
        widgets = {"registration_date": DATE, "remarks": forms.Textarea(attrs={"rows": 2})}
        labels = {"remarks": _("Contact person and phone, remarks")}

    def __init__(self, *args, carrier, **kwargs):
        super().__init__(*args, **kwargs)
        self.carrier = carrier
        self.fields["stage"].choices = stage_choices(ROAD_STAGES)
        self.order_fields([name for name in self.fields if name != "confirm_warnings"] + ["confirm_warnings"])

    def clean(self):
        data = super().clean()
        plate, color = data.get("plate"), data.get("plate_color")
        if plate and Vehicle.objects.filter(site=self.carrier.site, plate=plate, plate_color=color).exists():
            self.add_error("plate", _("This vehicle is already registered at the site. Please contact the "
                                      "site's environmental manager to change it."))
        return data


class ReviewForm(forms.Form):
    approve = forms.TypedChoiceField(label=_("Decision"), coerce=lambda v: v == "1",
                                     choices=[("1", _("Approve")), ("0", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        if data.get("approve") is False and not data.get("note", "").strip():
            self.add_error("note", _("Give the reason for the rejection; the carrier or the office will see it."))
        return data


class DocumentForm(forms.Form):
    document = forms.ChoiceField(label=_("Document"))
    file = forms.FileField(label=_("Photo or scan"), widget=forms.ClearableFileInput(attrs={"accept": PHOTO_ACCEPT}))

    def __init__(self, *args, registry, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].choices = [(name, DOCUMENT_HELP[name]) for name in DOCUMENTS[registry]]


class RegistryImportForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), label=_("Site"),
                                  help_text=_("Rows without a site code are imported into this site"))
    file = forms.FileField(label=_("Excel file (.xlsx)"))
    accept_warnings = forms.BooleanField(label=_("Import rows that only have warnings"), required=False)
    approve = forms.BooleanField(label=_("Approve on import"), required=False,
                                 help_text=_("Only for reviewers: the imported entries are approved at once"))

    def __init__(self, *args, sites, may_approve, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()
        if not may_approve:
            del self.fields["approve"]


class ListImportForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), label=_("Site"))
    kind = forms.ChoiceField(label=_("List"), choices=ListKind.choices, initial=ListKind.OVER_EMISSION)
    file = forms.FileField(label=_("Excel file (.xlsx)"))
    source = forms.CharField(label=_("Source"), max_length=100, required=False,
                             help_text=_("e.g. the regulator's notice number; used for rows without a source"))

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()


class ListEntryForm(forms.ModelForm):
    class Meta:
        model = ListEntry
        fields = ["site", "kind", "plate", "plate_color", "reason", "valid_from", "valid_until", "source"]
        widgets = {"valid_from": DATETIME, "valid_until": DATETIME}

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        sites = sites if sites is not None else Site.objects.all()
        self.fields["site"].queryset = sites
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()
        for name in ("valid_from", "valid_until"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

    def clean_plate(self):
        plate = validation.normalize_plate(self.cleaned_data["plate"])
        check = validation.check_plate(plate)
        if not check.ok:
            raise forms.ValidationError([p.message for p in check.errors])
        return plate

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give the reason for this entry."))
        return reason

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _("The end must be after the start."))
        return data


# ---------------------------------------------------------------- filters


class PlateFilterMixin(django_filters.FilterSet):
    plate = django_filters.CharFilter(method="filter_plate", label=_("Plate number"))

    def filter_plate(self, queryset, name, value):
        value = validation.normalize_plate(value)
        return queryset.filter(plate__contains=value) if value else queryset


class RegistryFilterSet(PlateFilterMixin):
    fuel = django_filters.ChoiceFilter(choices=Fuel.choices, label=_("Fuel"))
    state = django_filters.ChoiceFilter(choices=RegistrationState.choices, label=_("Review state"))
    source = django_filters.ChoiceFilter(choices=RegistrationSource.choices, label=_("Registered by"))


class VehicleFilterSet(RegistryFilterSet):
    stage = django_filters.ChoiceFilter(choices=stage_choices(ROAD_STAGES), label=_("Emission stage"))
    carrier = django_filters.ModelChoiceFilter(queryset=Carrier.objects.all(), label=_("Carrier / fleet"))

    class Meta:
        model = Vehicle
        fields = []


class InPlantFilterSet(RegistryFilterSet):
    stage = django_filters.ChoiceFilter(choices=stage_choices(ROAD_STAGES), label=_("Emission stage"))

    class Meta:
        model = InPlantVehicle
        fields = []

    def filter_plate(self, queryset, name, value):
        value = validation.normalize_plate(value)
        if not value:
            return queryset
        return queryset.filter(Q(plate__contains=value) | Q(registration_code__icontains=value))


class MachineFilterSet(InPlantFilterSet):
    stage = django_filters.ChoiceFilter(choices=stage_choices(NRMM_STAGES), label=_("Emission stage"))
    machine_type = django_filters.CharFilter(lookup_expr="icontains", label=_("Machine type"))

    class Meta:
        model = Machine
        fields = []


class CarrierFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label=_("Name"))

    class Meta:
        model = Carrier
        fields = []


class ListEntryFilterSet(PlateFilterMixin):
    kind = django_filters.ChoiceFilter(choices=ListKind.choices, label=_("List"))
    current = django_filters.BooleanFilter(method="filter_current", label=_("In force now"),
                                           widget=django_filters.widgets.BooleanWidget())

    class Meta:
        model = ListEntry
        fields = []

    def filter_current(self, queryset, name, value):
        from django.utils import timezone

        now = timezone.now()
        in_force = Q(valid_from__lte=now) & (Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        return queryset.filter(in_force) if value else queryset.exclude(in_force)
