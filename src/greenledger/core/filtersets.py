"""django-filter FilterSets for core lists, shared by the UI lists and exports."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry, Equipment, Person, Site, Workshop


class SearchFilterSet(django_filters.FilterSet):
    """Adds ``q``: a free-text search over ``search_fields``."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label=_("Search"))

    def search(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            word_condition = Q()
            for field in self.search_fields:
                word_condition |= Q(**{f"{field}__icontains": word})
            condition &= word_condition
        return queryset.filter(condition)


class SiteFilterSet(SearchFilterSet):
    search_fields = ("code", "name", "address")

    class Meta:
        model = Site
        fields = ["industry"]


class EquipmentFilterSet(SearchFilterSet):
    search_fields = ("code", "name", "equipment_type", "location", "tag_id")
    workshop = django_filters.ModelChoiceFilter(queryset=Workshop.objects.select_related("site"), label=_("Workshop"))
    site = django_filters.ModelChoiceFilter(
        field_name="workshop__site", queryset=Site.objects.all(), label=_("Site")
    )

    class Meta:
        model = Equipment
        fields = ["site", "workshop", "in_service"]


class PersonFilterSet(SearchFilterSet):
    search_fields = ("name", "employee_no", "title", "company", "user__username")
    site = django_filters.ModelChoiceFilter(field_name="sites", queryset=Site.objects.all(), label=_("Site"))

    class Meta:
        model = Person
        fields = ["site"]


class AuditFilterSet(SearchFilterSet):
    search_fields = ("object_repr", "changes_text", "actor__username")
    timestamp = django_filters.DateFromToRangeFilter(label=_("Date"))

    class Meta:
        model = AuditEntry
        fields = ["content_type", "action", "timestamp"]
