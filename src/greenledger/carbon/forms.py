"""Forms of carbon accounting: activity data, production output, green certificates, factors."""

from django import forms
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Equipment, Site, Workshop

from .activities import ACTIVITY_CHOICES
from .models import CertificateKind, EffectMethod, FactorCategory

DATE = forms.DateInput(attrs={"type": "date"})


class ScopedForm(forms.Form):
    """A form whose site / workshop / equipment choices are the user's sites."""

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        sites = sites if sites is not None else Site.objects.none()
        if "site" in self.fields:
            self.fields["site"].queryset = sites
        if "workshop" in self.fields:
            self.fields["workshop"].queryset = Workshop.objects.filter(site__in=sites)
        if "equipment" in self.fields:
            self.fields["equipment"].queryset = Equipment.objects.filter(workshop__site__in=sites)


class ActivityForm(ScopedForm):
    site = forms.ModelChoiceField(Site.objects.none(), label=_("Site"))
    workshop = forms.ModelChoiceField(Workshop.objects.none(), label=_("Workshop"), required=False)
    equipment = forms.ModelChoiceField(Equipment.objects.none(), label=_("Equipment"), required=False)
    activity = forms.ChoiceField(choices=ACTIVITY_CHOICES, label=_("Activity"))
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=4, min_value=0)
    unit = forms.CharField(label=_("Unit"), max_length=20, help_text=_("kWh, MWh, m3, 万m3, t, kg, GJ …"))
    period_start = forms.DateField(label=_("Period start"), widget=DATE)
    period_end = forms.DateField(label=_("Period end"), widget=DATE)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class OutputForm(ScopedForm):
    site = forms.ModelChoiceField(Site.objects.none(), label=_("Site"))
    workshop = forms.ModelChoiceField(Workshop.objects.none(), label=_("Stage / workshop"), required=False)
    product = forms.CharField(label=_("Product"), max_length=100)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=3, min_value=0)
    unit = forms.CharField(label=_("Unit"), max_length=20)
    period_start = forms.DateField(label=_("Period start"), widget=DATE)
    period_end = forms.DateField(label=_("Period end"), widget=DATE)
    batch_no = forms.CharField(label=_("Batch"), max_length=60, required=False)
    defect_rate = forms.DecimalField(label=_("Defect rate (%)"), required=False, min_value=0, max_value=100)
    final = forms.BooleanField(label=_("Final product of the site"), required=False, initial=True)


class CertificateForm(ScopedForm):
    site = forms.ModelChoiceField(Site.objects.none(), label=_("Site"))
    kind = forms.ChoiceField(choices=CertificateKind.choices, label=_("Kind"))
    mwh = forms.DecimalField(label=_("MWh"), max_digits=14, decimal_places=3, min_value=0)
    period_start = forms.DateField(label=_("Period start"), widget=DATE)
    period_end = forms.DateField(label=_("Period end"), widget=DATE)
    reference = forms.CharField(label=_("Certificate / contract number"), max_length=200, required=False)
    source = forms.CharField(label=_("Issuer / platform"), max_length=200, required=False)


class FactorVersionForm(forms.Form):
    value = forms.DecimalField(label=_("Value as published"), max_digits=20, decimal_places=8)
    unit = forms.CharField(label=_("Unit as published"), max_length=30)
    source = forms.CharField(label=_("Source"), widget=forms.Textarea(attrs={"rows": 2}))
    source_year = forms.IntegerField(label=_("Year published"), required=False)
    data_year = forms.IntegerField(label=_("Data year"), required=False)
    reason = forms.CharField(label=_("Why the factor changes"), widget=forms.Textarea(attrs={"rows": 2}))


class FactorCreateForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=80)
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.ChoiceField(choices=FactorCategory.choices, label=_("Category"))
    activity = forms.ChoiceField(choices=ACTIVITY_CHOICES, label=_("Activity"))
    region = forms.CharField(label=_("Grid region"), max_length=30, required=False,
                             help_text=_("For grid factors: national, east, … or a province code"))
    value = forms.DecimalField(label=_("Value"), max_digits=20, decimal_places=8)
    unit = forms.CharField(label=_("Unit"), max_length=30, help_text=_("e.g. tCO2/MWh, kgCO2/m3, tCO2/t"))
    data_year = forms.IntegerField(label=_("Data year"), required=False)
    source = forms.CharField(label=_("Source"), widget=forms.Textarea(attrs={"rows": 2}))


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx)"))


class EffectForm(forms.Form):
    method = forms.ChoiceField(choices=EffectMethod.choices, label=_("Method"))
    parameters = forms.JSONField(label=_("Parameters (JSON)"), widget=forms.Textarea(attrs={"rows": 6}))
    points = forms.JSONField(label=_("Telemetry points used (JSON list)"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
