"""The one list pattern every app uses: filter form, table, HTMX refresh, paging, Excel export.

A list view names its queryset, FilterSet and columns; the generic template renders them. When
HTMX asks (``HX-Request``) only the table is returned, so filtering never reloads the page.
``?export=xlsx`` downloads the filtered rows.
"""

from dataclasses import dataclass
from typing import Callable

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.utils import timezone
from django_filters.views import FilterView

from . import permissions
from .excel import workbook_response


@dataclass
class Column:
    label: str
    accessor: str | Callable
    link: bool = False

    def value(self, obj):
        if callable(self.accessor):
            return self.accessor(obj)
        value = obj
        for part in self.accessor.split("."):
            value = getattr(value, part, None)
            if value is None:
                return None
        display = getattr(obj, f"get_{self.accessor}_display", None) if "." not in self.accessor else None
        if callable(display):
            return display()
        return value() if callable(value) else value


class LedgerListView(LoginRequiredMixin, PermissionRequiredMixin, FilterView):
    """Generic filtered list; subclasses set model/queryset, filterset_class, columns, title."""

    template_name = "generic/list.html"
    table_template_name = "generic/_table.html"  # the part HTMX refreshes; the first cell links get_absolute_url
    paginate_by = 50
    columns: list[Column] = []
    title = ""
    export_name = "export"
    site_path: str | None = None  # lookup from the row to its Site, for object scope
    raise_exception = True
    actions: list[tuple[str, str, str]] = []  # (url, label, permission)

    def get_queryset(self):
        if self.model is None and self.queryset is None and type(self).get_queryset is LedgerListView.get_queryset:
            # django-filter would swallow the error and list every row of every site
            raise TypeError(f"{type(self).__name__} needs a model, a queryset or its own get_queryset()")
        queryset = super().get_queryset()
        if self.site_path:
            queryset = permissions.scope_queryset(self.request, queryset, self.site_path)
        return queryset

    def get_template_names(self):
        if self.request.headers.get("HX-Request") and not self.request.headers.get("HX-Boosted"):
            return [self.table_template_name]
        return [self.template_name]

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "xlsx":
            filterset = self.get_filterset(self.get_filterset_class())
            rows = filterset.qs if filterset.is_valid() else self.get_queryset().none()
            return workbook_response(
                self.export_name, str(self.title), [c.label for c in self.columns],
                ([c.value(obj) for c in self.columns] for obj in rows.iterator(chunk_size=2000)),
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["columns"] = self.columns
        context["rows"] = [
            {"obj": obj, "cells": [c.value(obj) for c in self.columns]} for obj in context["object_list"]
        ]
        context["actions"] = [(url, label) for url, label, perm in self.actions if self.request.user.has_perm(perm)]
        query = self.request.GET.copy()
        query.pop("page", None)
        context["query_string"] = query.urlencode()
        context["now"] = timezone.now()
        return context
