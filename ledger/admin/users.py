"""The user admin, scoped like the rest of the console: org admins see (and pick) only their orgs' people."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from ledger.selectors import users_for

from .scoping import ScopedChoicesAdmin

User = get_user_model()

if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class ScopedUserAdmin(ScopedChoicesAdmin, UserAdmin):
    """Django's user admin listing only `users_for(user)`, which is also what user choice lists offer."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=users_for(request.user).values("pk"))
