"""Admin: the history of ledger checks (read-only), for finance and the engineer on call."""

from django.contrib import admin

from .models import LedgerCheckRun


@admin.register(LedgerCheckRun)
class LedgerCheckRunAdmin(admin.ModelAdmin):
    list_display = ["finished_at", "source", "problems", "duration"]
    list_filter = ["source"]
    date_hierarchy = "finished_at"
    readonly_fields = ["source", "started_at", "finished_at", "problems", "report"]

    @admin.display(description="Duration (s)")
    def duration(self, obj):
        return f"{obj.duration_seconds:.1f}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
