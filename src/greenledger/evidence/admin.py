"""Read-only admin of the evidence log: leaves and signed checkpoints can be looked at, never edited."""

from django.contrib import admin

from greenledger.evidence.models import Checkpoint, Leaf


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Leaf)
class LeafAdmin(ReadOnlyAdmin):
    list_display = ["index", "table", "record_id", "sealed_at", "leaf_hash_hex"]
    list_filter = ["table"]
    search_fields = ["=record_id"]
    fields = ["index", "table", "record_id", "leaf_hash_hex", "sealed_at"]
    readonly_fields = fields
    date_hierarchy = "sealed_at"
    # Counting a million-row table on every page is slow on PostgreSQL.
    show_full_result_count = False


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "root_hash", "created_at", "key_id"]
    fields = ["tree_size", "root_hash", "created_at", "signature", "key_id"]
    readonly_fields = fields
