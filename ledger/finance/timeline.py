"""The org activity timeline pages: the filtered timeline (keyset pages) and its CSV export.

Finance, platform staff and superusers see every org's timeline, org admins their own orgs' (all with
view_ledger); the CSV needs export_ledger, like every ledger export. GET and HEAD only.
"""

from datetime import timedelta

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from ledger.activity import Window, activity_iter, activity_page, activity_sources, decode_cursor
from ledger.money import plain_decimal
from ledger.times import iso_time

from .csv import csv_response, stream_rows
from .filters import local_midnight
from .forms import ActivityFilterForm
from .selectors import viewable_organization

CSV_HEADER = ["time", "source", "kind", "summary", "actor", "actor_type", "reason", "amount", "currency", "account",
              "link"]
STAFF_ONLY = ("money", "credit_limit", "settings", "rate_card", "alert_settings", "account_thresholds")


def _organization(request, org_id):
    organization = viewable_organization(request.user, org_id)
    if organization is None:
        raise Http404("No such organization.")
    return organization


def _filters(request, organization):
    """The bound filter form, the chosen sources (None: all) and the window, or the form alone when invalid."""
    form = ActivityFilterForm(request.GET or None, sources=activity_sources.choices())
    if form.is_bound and not form.is_valid():
        return form, None, None
    data = form.cleaned_data if form.is_bound else {}
    tz = organization.tz
    window = Window(
        start=local_midnight(data["date_from"], tz) if data.get("date_from") else None,
        end=local_midnight(data["date_to"] + timedelta(days=1), tz) if data.get("date_to") else None,
        actor=(data.get("actor") or "").strip(),
        before=decode_cursor(request.GET.get("after", "")),
    )
    return form, (data.get("source") or None), window


@require_safe
@login_required
def organization_activity(request, org_id):
    """Every money action, setting change, rate-card change, alert-setting change and service hold of an org."""
    organization = _organization(request, org_id)
    form, sources, window = _filters(request, organization)
    query = request.GET.copy()
    query.pop("after", None)
    staff_only = "&".join(f"source={name}" for name in STAFF_ONLY if activity_sources.get(name))
    context = {
        **admin.site.each_context(request), "title": f"Activity: {organization.name}", "organization": organization,
        "form": form, "query": query.urlencode(), "staff_only_query": staff_only,
        "can_export": request.user.has_perm("ledger.export_ledger"),
        "breadcrumbs": [("Finance", reverse("finance:index")),
                        (str(organization), reverse("admin:ledger_organization_change", args=[organization.pk])),
                        ("Activity", None)],
        "urls": {"page": reverse("finance:activity", args=[organization.pk]),
                 "csv": reverse("finance:activity_csv", args=[organization.pk]),
                 "ledger": reverse("finance:org_ledger", args=[organization.pk])},
    }
    if window is None:
        return render(request, "finance/activity.html", {**context, "invalid": True}, status=400)
    page = activity_page(organization, sources=sources, window=window)
    return render(request, "finance/activity.html", {**context, "page": page, "events": page.events,
                                                     "first_page": window.before is None})


@require_safe
@login_required
def organization_activity_csv(request, org_id):
    """The filtered timeline as CSV, newest first, every page of it."""
    organization = _organization(request, org_id)
    if not request.user.has_perm("ledger.export_ledger"):
        raise PermissionDenied("You may not export ledgers.")
    form, sources, window = _filters(request, organization)
    if window is None:
        raise Http404("Invalid filters.")
    site = request.build_absolute_uri("/").rstrip("/")
    rows = (
        [iso_time(event.at, organization), event.source, event.kind, event.summary, event.actor,
         event.actor_type, event.reason, plain_decimal(event.amount), event.currency,
         event.account, f"{site}{event.url}" if event.url else ""]
        for event in activity_iter(organization, sources=sources, window=window)
    )
    filename = f"activity-{organization.wallet_id}-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return csv_response(stream_rows(CSV_HEADER, rows), filename)
