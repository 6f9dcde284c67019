"""Forms for master data and tokens."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, Equipment, Site


class EquipmentForm(forms.ModelForm):
    class Meta:
        model = Equipment
        fields = ["workshop", "code", "name", "equipment_type", "location", "tag_id", "rated_power_kw", "in_service"]

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None:
            self.fields["workshop"].queryset = self.fields["workshop"].queryset.filter(site__in=sites)

    def clean_tag_id(self):
        return self.cleaned_data.get("tag_id") or None


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "site", "purpose", "expires_at"]
        widgets = {"expires_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else Site.objects.all()


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))
    caption = forms.CharField(label=_("Caption"), max_length=200, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx)"))
