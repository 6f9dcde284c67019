"""Forms of the measure ledger: catalogue editing and the execution-record form built from a
measure's parameter schema."""

from django import forms
from django.forms import inlineformset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Person

from .models import (
    Anomaly, AnomalyEvent, ContractorAssignment, EquipmentStatus, Measure, MeasureParameter, MeasureType,
    ValueType,
)

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class MeasureForm(forms.ModelForm):
    class Meta:
        model = Measure
        fields = ["site", "stage", "code", "name", "measure_type", "purpose", "reduction_target", "safety_target",
                  "reduction_link", "safety_link", "responsible_role", "responsible", "equipment", "tag_id",
                  "schedule", "interval_hours", "weekday", "due_time", "grace_minutes", "escalate_after_minutes",
                  "photo_required", "checklist", "active", "started_on"]
        widgets = {"reduction_link": forms.Textarea(attrs={"rows": 2}), "safety_link": forms.Textarea(attrs={"rows": 2}),
                   "due_time": forms.TimeInput(attrs={"type": "time"}), "started_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            self.fields["site"].queryset = sites
            self.fields["stage"].queryset = self.fields["stage"].queryset.filter(site__in=sites)
            self.fields["equipment"].queryset = self.fields["equipment"].queryset.filter(workshop__site__in=sites)
            self.fields["responsible"].queryset = Person.objects.filter(sites__in=sites).distinct()

    def clean(self):
        data = super().clean()
        if data.get("stage") and data.get("site") and data["stage"].site_id != data["site"].pk:
            self.add_error("stage", _("The stage belongs to another site."))
        if data.get("schedule") == "every_n_hours" and not data.get("interval_hours"):
            self.add_error("interval_hours", _("Give N for an every-N-hours schedule."))
        return data


ParameterFormSet = inlineformset_factory(
    Measure, MeasureParameter, extra=2, can_delete=True,
    fields=["order", "code", "name", "unit", "value_type", "min_value", "max_value", "required", "source",
            "telemetry_point"],
)


class RecordForm(forms.Form):
    """An execution record; one field per parameter of the measure (``p_<code>``)."""

    occurred_at = forms.DateTimeField(label=_("Executed at"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M"])
    executor = forms.ModelChoiceField(queryset=Person.objects.none(), label=_("Executor"))
    compliant = forms.NullBooleanField(label=_("Complies / within range"), required=False,
                                       widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]))
    batch_no = forms.CharField(label=_("Production batch"), required=False, max_length=60)
    remarks = forms.CharField(label=_("Remarks"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = MultipleFileField(label=_("Photos"), required=False)
    late_reason = forms.CharField(label=_("Late-entry reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    correction_reason = forms.CharField(label=_("Correction reason"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.BooleanField(label=_("I confirm the values outside their range"), required=False)

    def __init__(self, *args, measure, people, correcting=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure
        self.fields["executor"].queryset = people
        if measure.measure_type == MeasureType.EQUIPMENT:
            del self.fields["compliant"]
        if correcting is None:
            del self.fields["correction_reason"]
        for param in measure.parameters.all():
            label = f"{param.name} ({param.unit})" if param.unit else param.name
            required = param.required and param.source == "manual"
            if param.value_type == ValueType.NUMBER:
                attrs = {"step": "any"}
                if param.min_value is not None:
                    attrs["data-min"] = f"{param.min_value.normalize():f}"
                if param.max_value is not None:
                    attrs["data-max"] = f"{param.max_value.normalize():f}"
                field = forms.FloatField(label=label, required=required, widget=forms.NumberInput(attrs=attrs))
                if param.min_value is not None or param.max_value is not None:
                    field.help_text = _("range %(low)s – %(high)s") % {
                        "low": "" if param.min_value is None else f"{param.min_value.normalize():f}",
                        "high": "" if param.max_value is None else f"{param.max_value.normalize():f}"}
            elif param.value_type == ValueType.BOOLEAN:
                field = forms.BooleanField(label=label, required=False)
            else:
                field = forms.CharField(label=label, required=required, max_length=500)
            if param.source == "telemetry":
                field.help_text = (field.help_text + " · " if field.help_text else "") + \
                    _("from telemetry point %(point)s when available") % {"point": param.telemetry_point or "—"}
            self.fields[f"p_{param.code}"] = field
        if measure.checklist_id:
            self.fields["ticked"] = forms.MultipleChoiceField(
                label=measure.checklist.name, required=False, widget=forms.CheckboxSelectMultiple,
                choices=[(str(item.pk), item.text) for item in measure.checklist.items.all()])
            self.fields["participants"] = forms.CharField(label=_("Participants"), required=False,
                                                          help_text=_("Names separated by commas"))
        # what was measured first, then the result and the evidence, the exceptional fields last
        self.order_fields(["occurred_at", "executor", *[name for name in self.fields if name.startswith("p_")],
                           "ticked", "participants", "compliant", "batch_no", "remarks", "photos", "late_reason",
                           "correction_reason", "confirm"])

    def values(self):
        return {code[2:]: value for code, value in self.cleaned_data.items()
                if code.startswith("p_") and value not in (None, "")}

    def checklist(self):
        if "ticked" not in self.cleaned_data:
            return {}
        participants = [p.strip() for p in self.cleaned_data.get("participants", "").replace("，", ",").split(",")
                        if p.strip()]
        return {"ticked": [int(pk) for pk in self.cleaned_data["ticked"]], "participants": participants}

    @staticmethod
    def initial_for(user):
        return {"occurred_at": timezone.localtime().replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M"),
                "executor": getattr(user, "person", None)}


class AnomalyForm(forms.ModelForm):
    occurred_at = forms.DateTimeField(label=_("Occurred at"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M"])

    class Meta:
        model = Anomaly
        fields = ["measure", "occurred_at", "symptom", "immediate_handling", "safety_impact", "batch_no",
                  "extra_quantity", "extra_unit", "extra_activity", "extra_co2_kg", "extra_co2_basis", "deadline"]
        widgets = {"symptom": forms.Textarea(attrs={"rows": 2}), "immediate_handling": forms.Textarea(attrs={"rows": 2}),
                   "safety_impact": forms.Textarea(attrs={"rows": 2}), "deadline": DATETIME}


class AnomalyEventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Step"), choices=AnomalyEvent.Kind.choices)
    text = forms.CharField(label=_("What was done / result"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Person.objects.none(), required=False)
    corrective_action = forms.CharField(label=_("Corrective action"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}))
    resolved_at = forms.DateTimeField(label=_("Resolved at"), required=False, widget=DATETIME,
                                      input_formats=["%Y-%m-%dT%H:%M"])


class DecisionForm(forms.Form):
    approved = forms.TypedChoiceField(choices=[("1", _("Approve")), ("0", _("Reject"))], coerce=lambda v: v == "1")
    comment = forms.CharField(required=False, max_length=500)


class HourlyForm(forms.Form):
    measure = forms.ModelChoiceField(queryset=Measure.objects.none(), label=_("Measure"))
    hour = forms.DateTimeField(label=_("Hour"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M"])
    status = forms.ChoiceField(label=_("Status"), choices=EquipmentStatus.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class ContractorAssignmentForm(forms.ModelForm):
    class Meta:
        model = ContractorAssignment
        fields = ["user", "measures", "valid_from", "valid_to", "company_contact", "work_description"]
        widgets = {"valid_from": DATETIME, "valid_to": DATETIME, "measures": forms.CheckboxSelectMultiple}

    def __init__(self, *args, measures=None, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["user"].queryset = get_user_model().objects.filter(groups__name="contractor")
        if measures is not None:
            self.fields["measures"].queryset = measures
        for name in ("valid_from", "valid_to"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M"]
