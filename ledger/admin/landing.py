"""Where each role lands after logging in: finance on the finance landing page, subaccount users on their
own ledger, an org admin of one org on its dashboard, everyone else on the admin index."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse

from ledger.finance.selectors import owned_accounts
from ledger.selectors import ROLE_FINANCE, ROLE_PLATFORM_STAFF, user_roles
from ledger.selfservice.rules import self_service_accounts


def landing_url(user) -> str:
    """The first page of a user's role."""
    roles = user_roles(user)
    if user.is_superuser or ROLE_PLATFORM_STAFF in roles:
        return reverse("admin:index")
    if ROLE_FINANCE in roles and user.has_perm("ledger.view_ledger"):
        return reverse("finance:index")
    administered = list(user.administered_organizations.values_list("pk", flat=True)[:2])
    if len(administered) == 1:
        return reverse("admin:ledger_organization_change", args=[administered[0]])
    if not administered and self_service_accounts(user).exists():
        return reverse("selfservice:my_credits")
    if not administered and owned_accounts(user).exists():
        return reverse("finance:my_ledger")
    return reverse("admin:index")


@login_required
def landing(request):
    """Send a freshly logged-in user to their role's first page."""
    if not request.user.is_staff:
        return redirect("admin:login")
    return redirect(landing_url(request.user))


def console_login(request, extra_context=None):
    """The admin login; without a page to return to (or with the bare admin index), it continues at `landing`."""
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if not target or target == reverse("admin:index"):
        query = request.GET.copy()
        query[REDIRECT_FIELD_NAME] = reverse("console-landing")
        request.GET = query
        if request.method == "POST":
            data = request.POST.copy()
            data[REDIRECT_FIELD_NAME] = reverse("console-landing")
            request.POST = data
    return admin.site.login(request, extra_context)
