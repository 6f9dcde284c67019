"""Forms of the guard console: reason for a manual release/block, cargo, on-the-spot registration of an
unknown vehicle, and a passage typed in by hand while the camera is down."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .codes import PlateColor
from .models import Lane, Vehicle
from .registry_forms import DOCUMENT_HELP, DOCUMENTS, PHOTO_ACCEPT, VehicleForm
from .validation import check_plate, normalize_plate

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={
        "rows": 2, "required": True, "placeholder": _("Why is the rule overridden? e.g. 消防车紧急进厂")}))

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("A reason is required."), code="required")
        return reason


class CargoForm(forms.Form):
    cargo_name = forms.CharField(label=_("Cargo"), max_length=100)
    cargo_weight_t = forms.DecimalField(label=_("Weight (t)"), max_digits=10, decimal_places=3, min_value=0,
                                        max_value=1000, required=False)


class GuardVehicleForm(VehicleForm):
    """Registration at the gate (the registry's own form and checks, fewer fields) with the document photos.

    The vehicle waits for the environmental manager's review: state pending, source guard.
    """

    class Meta(VehicleForm.Meta):
        fields = ["site", "plate", "plate_color", "vin", "vehicle_type", "category", "vehicle_class", "fuel", "stage",
                  "carrier", "owner", "remarks"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in DOCUMENTS["vehicle"]:
            self.fields[f"doc_{name}"] = forms.FileField(
                label=DOCUMENT_HELP[name], required=False,
                widget=forms.ClearableFileInput(attrs={"accept": PHOTO_ACCEPT, "capture": "environment"}))
        self.order_fields([n for n in self.fields if n != "confirm_warnings"] + ["confirm_warnings"])

    def documents(self):
        """(document name, uploaded file) pairs the guard attached."""
        return [(name, self.cleaned_data[f"doc_{name}"]) for name in DOCUMENTS["vehicle"]
                if self.cleaned_data.get(f"doc_{name}")]

    def clean(self):
        data = super().clean()
        plate, color, site = data.get("plate"), data.get("plate_color"), data.get("site")
        if site is not None and plate and Vehicle.objects.filter(site=site, plate=plate, plate_color=color).exists():
            self.add_error("plate", ValidationError(_("This plate is already registered at this site."),
                                                    code="duplicate"))
        return data


class ManualPassageForm(forms.Form):
    """A passage typed in by the guard when the camera is down; it is decided like a camera read."""

    lane = forms.ModelChoiceField(queryset=Lane.objects.none(), label=_("Lane"))
    plate = forms.CharField(label=_("Plate number"), max_length=12)
    plate_color = forms.ChoiceField(choices=PlateColor.choices, initial=PlateColor.YELLOW, label=_("Plate colour"))
    occurred_at = forms.DateTimeField(label=_("Passed at"), widget=DATETIME,
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lane"].queryset = Lane.objects.filter(gate__site__in=sites).select_related("gate") \
            if sites is not None else Lane.objects.none()
        self.fields["occurred_at"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")

    def clean(self):
        data = super().clean()
        if data.get("plate"):
            data["plate"] = normalize_plate(data["plate"])
            for problem in check_plate(data["plate"], data.get("plate_color")).errors:
                self.add_error("plate" if problem.field not in self.fields else problem.field, problem.message)
        return data

    def clean_occurred_at(self):
        moment = self.cleaned_data["occurred_at"]
        if moment > timezone.now() + datetime.timedelta(minutes=5):
            raise ValidationError(_("The time lies in the future."), code="future")
        return moment

