"""Admin: the history of ledger checks (read-only), for finance and the engineer on call.

A check covers every org and its report names their accounts, so only those who see all orgs (platform
staff, finance) see the history; an org admin does not, whatever their permissions.
"""

from django.contrib import admin

from ledger.selectors import sees_all_organizations

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

    def has_view_permission(self, request, obj=None):
        return sees_all_organizations(request.user) and super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return sees_all_organizations(request.user) and super().has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
