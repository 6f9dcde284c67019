"""Measuring points in the Django admin (master data); readings and rollups are not edited by hand."""

from django.contrib import admin

from .models import IntakeError, MeasuringPoint


@admin.register(MeasuringPoint)
class MeasuringPointAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "site", "workshop", "equipment", "quantity", "unit", "cumulative", "generation",
                    "expected_interval_seconds", "source", "active"]
    list_filter = ["site", "quantity", "source", "active", "cumulative", "generation"]
    search_fields = ["code", "name", "opcua_node_id"]
    autocomplete_fields = []
    raw_id_fields = ["equipment", "workshop"]


@admin.register(IntakeError)
class IntakeErrorAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "site", "point_code", "rule", "message"]
    list_filter = ["source", "rule"]
    search_fields = ["point_code", "payload"]
    readonly_fields = [f.name for f in IntakeError._meta.fields]
