"""Filters of the telemetry lists (points, intake errors)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Site, Workshop

from .models import IntakeError, MeasuringPoint, Quantity, Source


class PointFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Keywords"))
    site = django_filters.ModelChoiceFilter(queryset=Site.objects.all(), label=_("Site"))
    workshop = django_filters.ModelChoiceFilter(queryset=Workshop.objects.all(), label=_("Workshop / stage"))
    quantity = django_filters.ChoiceFilter(choices=Quantity.choices, label=_("Quantity"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("Source"))

    class Meta:
        model = MeasuringPoint
        fields = []

    def filter_q(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(Q(code__icontains=word) | Q(name__icontains=word)
                                       | Q(equipment__code__icontains=word))
        return queryset


class IntakeErrorFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Keywords"))
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("Source"))
    rule = django_filters.CharFilter(label=_("Rule"))

    class Meta:
        model = IntakeError
        fields = []

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(point_code__icontains=value) | Q(payload__icontains=value)
                               | Q(message__icontains=value))
