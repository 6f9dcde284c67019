"""Filters of the carbon lists (pages, Excel export)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Site, Workshop

from .activities import ACTIVITY_CHOICES
from .models import EmissionFactor, FactorCategory


class FactorFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Keywords"))
    category = django_filters.ChoiceFilter(choices=FactorCategory.choices, label=_("Category"))
    activity = django_filters.ChoiceFilter(choices=ACTIVITY_CHOICES, label=_("Activity"))
    current = django_filters.BooleanFilter(field_name="superseded_at", lookup_expr="isnull", label=_("Current only"),
                                           widget=django_filters.widgets.BooleanWidget())

    class Meta:
        model = EmissionFactor
        fields = ["q", "category", "activity", "current"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value) | Q(source__icontains=value))


class PeriodSiteFilterSet(django_filters.FilterSet):
    site = django_filters.ModelChoiceFilter(queryset=Site.objects.all(), label=_("Site"))
    workshop = django_filters.ModelChoiceFilter(queryset=Workshop.objects.all(), label=_("Workshop"))
    start = django_filters.DateFilter(field_name="period_end", lookup_expr="gte", label=_("From"))
    end = django_filters.DateFilter(field_name="period_start", lookup_expr="lte", label=_("To"))


def period_filterset(model_class, extra=()):
    meta = type("Meta", (), {"model": model_class, "fields": ["site", "workshop", "start", "end", *extra]})
    return type(f"{model_class.__name__}FilterSet", (PeriodSiteFilterSet,), {"Meta": meta})
