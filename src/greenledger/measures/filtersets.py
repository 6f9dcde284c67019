"""Filters of the measure ledger, shared by the record list page, its Excel export and the API.

The free-text filter ``q`` splits on spaces and needs every word to appear in the record's search
text (measure, stage, site, industry, remarks, batch, date as YYYYMMDD, anomaly text), so
"锂电池 封装 202410 异常" and partial names like "电解液 检测" both work for Chinese.
"""

import datetime

import django_filters
from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Equipment, Person, Workshop

from .models import Anomaly, AnomalyState, ExecutionRecord, Measure, MeasureType, Purpose, ScheduleKind


class AllYesNo(django_filters.widgets.BooleanWidget):
    """A yes/no filter whose empty choice reads "all", not "unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", _("All")), ("true", _("Yes")), ("false", _("No")))


def search_words(queryset, value, field="search_text"):
    words = value.lower().split()
    condition = Q()
    for word in words:
        condition &= Q(**{f"{field}__contains": word})
    queryset = queryset.filter(condition)
    if (words and all(len(word) == 2 for word in words) and connection.vendor == "postgresql"
            and any(f.name == "search_bigrams" for f in queryset.model._meta.fields)):
        # only two-character words: no trigram index can help, the bigram array index can
        from django.contrib.postgres.fields import ArrayField

        pieces = RawSQL("string_to_array(search_bigrams, ' ')", [], output_field=ArrayField(models.TextField()))
        queryset = queryset.alias(bigram_set=pieces).filter(bigram_set__contains=words)
    return queryset


class RecordFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Keywords"))
    start = django_filters.DateFilter(field_name="occurred_at", method="filter_start", label=_("From"))
    end = django_filters.DateFilter(field_name="occurred_at", method="filter_end", label=_("To"))
    stage = django_filters.ModelChoiceFilter(queryset=Workshop.objects.all(), label=_("Stage"))
    measure_type = django_filters.ChoiceFilter(field_name="measure__measure_type", choices=MeasureType.choices,
                                               label=_("Measure type"))
    purpose = django_filters.ChoiceFilter(field_name="measure__purpose", choices=Purpose.choices,
                                          label=_("Purpose"))
    measure = django_filters.ModelChoiceFilter(queryset=Measure.objects.all(), label=_("Measure"))
    executor = django_filters.ModelChoiceFilter(queryset=Person.objects.all(), label=_("Executor"))
    equipment = django_filters.ModelChoiceFilter(queryset=Equipment.objects.all(), label=_("Equipment"))
    batch = django_filters.CharFilter(method="filter_batch", label=_("Batch"))
    anomaly = django_filters.BooleanFilter(field_name="has_anomaly", widget=AllYesNo(),
                                           label=_("Anomaly only"), method="filter_true")
    late = django_filters.BooleanFilter(field_name="is_late", label=_("Late only"), method="filter_true",
                                        widget=AllYesNo())
    outsourced = django_filters.BooleanFilter(field_name="outsourced", label=_("Outsourced only"),
                                              method="filter_true", widget=AllYesNo())
    emission_anomaly_days = django_filters.NumberFilter(method="filter_emission_anomaly",
                                                        label=_("In emission-anomaly periods (last N days)"))
    current = django_filters.BooleanFilter(method="filter_current", label=_("Hide corrected records"),
                                           widget=AllYesNo())

    class Meta:
        model = ExecutionRecord
        fields = []

    def filter_q(self, queryset, name, value):
        return search_words(queryset, value)

    def filter_start(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=day_start(value))

    def filter_batch(self, queryset, name, value):
        return by_batch(queryset, value)

    def filter_end(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=day_start(value + datetime.timedelta(days=1)))

    def filter_true(self, queryset, name, value):
        return queryset.filter(**{name: True}) if value else queryset

    def filter_current(self, queryset, name, value):
        return queryset.filter(superseded=False) if value else queryset

    def filter_emission_anomaly(self, queryset, name, value):
        """Records inside the window of an anomaly that caused extra emissions (last ``value`` days)."""
        since = timezone.now() - datetime.timedelta(days=int(value))
        windows = Anomaly.objects.filter(occurred_at__gte=since, extra_co2_kg__gt=0).values_list(
            "site_id", "occurred_at", "resolved_at")
        condition = Q(pk__in=[])
        for site_id, start, end in windows:
            condition |= Q(site_id=site_id, occurred_at__gte=start - datetime.timedelta(hours=1),
                           occurred_at__lte=(end or timezone.now()) + datetime.timedelta(hours=1))
        return queryset.filter(condition)


def by_batch(queryset, batch_no):
    """Case-insensitive batch lookup that the upper-cased batch index serves on both databases."""
    return queryset.alias(batch_key=Upper("batch_no")).filter(batch_key=batch_no.strip().upper())


def day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class MeasureFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Keywords"))
    stage = django_filters.ModelChoiceFilter(queryset=Workshop.objects.all(), label=_("Stage"))
    measure_type = django_filters.ChoiceFilter(choices=MeasureType.choices, label=_("Measure type"))
    purpose = django_filters.ChoiceFilter(choices=Purpose.choices, label=_("Purpose"))
    schedule = django_filters.ChoiceFilter(choices=ScheduleKind.choices, label=_("Schedule"))

    class Meta:
        model = Measure
        fields = ["site", "active"]

    def filter_q(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(Q(name__icontains=word) | Q(code__icontains=word)
                                       | Q(stage__name__icontains=word) | Q(reduction_link__icontains=word)
                                       | Q(safety_link__icontains=word))
        return queryset


class AnomalyFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Keywords"))
    state = django_filters.ChoiceFilter(choices=AnomalyState.choices, label=_("State"))
    start = django_filters.DateFilter(field_name="occurred_at", method="filter_start", label=_("From"))
    end = django_filters.DateFilter(field_name="occurred_at", method="filter_end", label=_("To"))
    measure = django_filters.ModelChoiceFilter(queryset=Measure.objects.all(), label=_("Measure"))

    class Meta:
        model = Anomaly
        fields = []

    def filter_q(self, queryset, name, value):
        return search_words(queryset, value)

    filter_start = RecordFilterSet.filter_start
    filter_end = RecordFilterSet.filter_end
