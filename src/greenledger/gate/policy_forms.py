"""Forms of the gate policy pages: rule sets and their rows, gate settings, alert switching."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .codes import AlertLevel, Direction, EmissionStage, Fuel, PerformanceGrade, VehicleClass
from .models import GateSettings, Rule, RuleSet

LIST_FIELDS = {
    "grades": PerformanceGrade, "alert_levels": AlertLevel, "vehicle_classes": VehicleClass, "fuels": Fuel,
    "stages": EmissionStage, "directions": Direction,
}


class RuleSetForm(forms.ModelForm):
    class Meta:
        model = RuleSet
        fields = ["name", "source", "description", "default_action"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class RuleForm(forms.ModelForm):
    """One row of the matrix; each list is ticked boxes (none ticked = any)."""

    class Meta:
        model = Rule
        fields = ["priority", "grades", "alert_levels", "vehicle_classes", "fuels", "stages", "stage_max",
                  "directions", "special_purpose", "hazmat", "cargo_keywords", "action", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, choices in LIST_FIELDS.items():
            label = self.fields[name].label
            self.fields[name] = forms.MultipleChoiceField(
                label=label, choices=choices.choices, required=False, widget=forms.CheckboxSelectMultiple,
                help_text=_("None ticked: any"), initial=self.instance.pk and getattr(self.instance, name))
        for name in ("special_purpose", "hazmat"):
            widget = forms.NullBooleanSelect()
            widget.choices = [("unknown", _("Any vehicle")), ("true", _("Only these")), ("false", _("All but these"))]
            self.fields[name] = forms.NullBooleanField(label=self.fields[name].label, required=False, widget=widget)


class GateSettingsForm(forms.ModelForm):
    class Meta:
        model = GateSettings
        fields = ["grade", "rule_set", "unknown_vehicle_action", "pending_vehicle_action", "min_confidence"]

    def clean_min_confidence(self):
        value = self.cleaned_data["min_confidence"]
        if value > 100:
            raise forms.ValidationError(_("Confidence is at most 100."), code="max_value")
        return value


class AlertSwitchForm(forms.Form):
    level = forms.ChoiceField(label=_("alert level"), choices=AlertLevel.choices)
    starts_at = forms.DateTimeField(label=_("from"), required=False, help_text=_("Empty: now"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("until"), required=False, help_text=_("Empty: until further notice"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("reason"), max_length=300,
                             help_text=_("e.g. the regulator's notice number or the city's announcement"))
    measures_text = forms.CharField(label=_("control measures"), required=False,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    regulator_ref = forms.CharField(label=_("regulator reference"), max_length=100, required=False)

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("The end must be after the start."))
        return data


class MatrixImportForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx)"))
