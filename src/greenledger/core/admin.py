"""Django admin for master data (system admin only); ledger rows are read-only here."""

from django.contrib import admin

from .models import ApiToken, Attachment, Enterprise, Equipment, Notification, Person, Site, Tag, Workshop


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code"]
    search_fields = ["name", "credit_code"]


class WorkshopInline(admin.TabularInline):
    model = Workshop
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "enterprise", "industry"]
    list_filter = ["industry"]
    search_fields = ["code", "name"]
    inlines = [WorkshopInline]


@admin.register(Workshop)
class WorkshopAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "site", "kind", "sequence"]
    list_filter = ["site", "kind"]
    search_fields = ["code", "name"]


@admin.register(Equipment)
class EquipmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "workshop", "equipment_type", "tag_id", "in_service"]
    list_filter = ["workshop__site", "in_service"]
    search_fields = ["code", "name", "tag_id"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "employee_no", "user", "title", "company"]
    search_fields = ["name", "employee_no", "user__username"]
    filter_horizontal = ["sites"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "purpose", "key_prefix", "created_at", "revoked_at", "last_used_at"]
    readonly_fields = ["key_prefix", "created_at", "revoked_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # tokens are issued on the token page, which shows the secret once


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "kind", "mime_type", "size", "sha256", "recorded_at"]


admin.site.register(Tag)
admin.site.register(Notification)
admin.site.site_header = "绿账 GreenLedger"
