"""Forms of the uplink pages: platform set-up, dead-letter correction, re-upload of a period."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Platform


class PlatformForm(forms.ModelForm):
    """The platform set-up; secrets are references (env:/file:), the values are never asked for."""

    class Meta:
        model = Platform
        fields = ["site", "code", "name", "profile", "base_url", "app_id", "enterprise_code", "app_secret_ref",
                  "private_key_ref", "platform_public_key", "field_map", "code_tables", "heartbeat_seconds",
                  "realtime_seconds", "deadline_minutes", "backlog_alarm_minutes", "send_measure_records",
                  "send_emission_reports", "pull_instructions",
                  "pull_seconds", "timeout_seconds", "enabled"]
        widgets = {"platform_public_key": forms.Textarea(attrs={"rows": 4}),
                   "field_map": forms.Textarea(attrs={"rows": 6}), "code_tables": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            self.fields["site"].queryset = sites

    def _clean_ref(self, name):
        value = self.cleaned_data[name].strip()
        if not (value.startswith("env:") or value.startswith("file:")) or len(value) < 5:
            raise forms.ValidationError(_("Write env:VARIABLE or file:path — never the secret itself."), code="ref")
        return value

    def clean_app_secret_ref(self):
        return self._clean_ref("app_secret_ref")

    def clean_private_key_ref(self):
        return self._clean_ref("private_key_ref")


class PayloadForm(forms.Form):
    payload = forms.CharField(label=_("Body sent to the platform (JSON)"), widget=forms.Textarea(attrs={"rows": 14}),
                              required=False, help_text=_("Leave empty to rebuild it from the record"))

    def clean_payload(self):
        text = self.cleaned_data["payload"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}, code="json")
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The body must be a JSON object."), code="type")
        return value


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (included)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The end must not be before the start."), code="order")
        return data
