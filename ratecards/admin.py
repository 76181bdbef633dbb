"""Rate card admin: an editor that saves through `ratecards.services`, an org page with current and pending
versions side by side and the revision history with rate-by-rate diffs, and read-only version pages.

Versions are never edited in place: the admin's add view is a custom form whose rates are inline rows, and
saving it calls `rate_card_version_create`, so the activation rules apply exactly as in the API.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms import formset_factory
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from ledger.admin.display import OrgTimezoneMixin, local_time_column
from ledger.admin.scoping import ScopedChoicesAdmin
from ledger.errors import LedgerError
from ledger.models import Organization
from ledger.money import Actor
from ledger.money import rate as unit_rate
from ledger.selectors import organizations_for
from ledger.times import local_time

from . import selectors, services
from .countries import countries, country_choices
from .models import Channel, Rate, RateCardVersion, VersionStatus, WhatsAppCategory

ROW_ERROR_FIELDS = {"channel", "country", "category", "unit_price"}


def _plain_price(price: Decimal) -> Decimal:
    """The same price without trailing zeros (0.250000 -> 0.25, 100.000000 -> 100, never 1E+2)."""
    normal = price.normalize()
    return normal if normal.as_tuple().exponent <= 0 else price.quantize(Decimal(1))


class RateCardForm(forms.Form):
    """The version-level fields of an edit: which org, from when, why."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    effective_from = forms.DateField(
        label="Effective date", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for the start of the next day in the org's timezone (or at once for the first "
                  "rate card). A later date starts at local midnight of that day.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_for(user).order_by("name")


class RateForm(forms.Form):
    """One inline rate row: (channel, country or default, category or any) -> unit price."""

    channel = forms.ChoiceField(choices=[("", "---------")] + list(Channel.choices))
    country = forms.ChoiceField(required=False, help_text="Empty: the channel's default price.")
    category = forms.ChoiceField(required=False, choices=[("", "Any")] + list(WhatsAppCategory.choices),
                                 help_text="WhatsApp only.")
    unit_price = forms.DecimalField(max_digits=20, decimal_places=6, min_value=0,
                                    widget=forms.TextInput(attrs={"size": 12, "inputmode": "decimal"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "Default (every other country)")] + country_choices()


RateFormSet = formset_factory(RateForm, extra=3, can_delete=True, max_num=services.MAX_RATES,
                              validate_max=True)


def _rate_rows(formset) -> tuple[list[dict], list[int]]:
    """The filled, not deleted rows as service input, and the form index of each."""
    rows, indexes = [], []
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE") or form.errors:
            continue
        rows.append({"channel": data["channel"], "country": data.get("country") or None,
                     "category": data.get("category") or None, "unit_price": data["unit_price"]})
        indexes.append(index)
    return rows, indexes


def _attach_errors(error: LedgerError, form: RateCardForm, formset, indexes: list[int]) -> None:
    """Put the service's field errors on the matching form fields (`rates[i].field` -> row i)."""
    for key, messages_ in error.errors.items():
        target, field = form, None
        if key.startswith("rates[") and "]" in key:
            position = int(key[len("rates["):key.index("]")])
            name = key.partition("].")[2]
            target = formset.forms[indexes[position]] if position < len(indexes) else form
            field = name if name in ROW_ERROR_FIELDS and target is not form else None
        elif key in form.fields:
            field = key
        for message in messages_:
            target.add_error(field, message)
    if not error.errors:
        form.add_error(None, error.detail)


class RateInline(admin.TabularInline):
    model = Rate
    fields = ("channel", "country_label", "category_label", "price")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="Country")
    def country_label(self, rate):
        return f"{countries().get(rate.country, rate.country)} ({rate.country})" if rate.country else "Default"

    @admin.display(description="Category")
    def category_label(self, rate):
        return rate.category or "Any"

    @admin.display(description="Unit price")
    def price(self, rate):
        return format_html('<span class="rate">{}</span>', unit_rate(rate.unit_price, rate.version.organization.currency))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RateCardVersion)
class RateCardVersionAdmin(OrgTimezoneMixin, ScopedChoicesAdmin, SimpleHistoryAdmin):
    list_display = ("organization_link", "number", "status", "effective_col", "created_by_display", "created_col")
    effective_col = local_time_column("effective_from", "Effective from")
    created_col = local_time_column("created_at", "Created")
    list_filter = ("status",)
    search_fields = ("organization__name", "organization__wallet_id", "=organization__id")
    list_select_related = ("organization", "created_by")
    date_hierarchy = "effective_from"
    inlines = [RateInline]
    fields = ("organization", "number", "status", "effective_from", "created_by_display", "created_at", "note",
              "changes_table", "organization_page")
    readonly_fields = fields
    actions = ["cancel_pending"]
    history_list_display = ["status"]

    # --- permissions and scoping ------------------------------------------------------------

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organization__in=organizations_for(request.user))

    def has_change_permission(self, request, obj=None):
        return False  # versions are immutable: an edit is a new version (the add view)

    def has_delete_permission(self, request, obj=None):
        return False

    def _organization_or_404(self, request, organization_id) -> Organization:
        organization = organizations_for(request.user).filter(pk=organization_id).first()
        if organization is None:
            raise Http404("No such organization.")
        return organization

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied  # a revert would bypass the activation rules: make a new version instead
        return super().history_form_view(request, object_id, version_id, extra_context)

    # --- list and detail --------------------------------------------------------------------

    @admin.display(description="Organization", ordering="organization__name")
    def organization_link(self, version):
        url = reverse("admin:ratecards_ratecardversion_organization", args=[version.organization_id])
        return format_html('<a href="{}">{}</a>', url, version.organization)

    @admin.display(description="Created by")
    def created_by_display(self, version):
        return version.created_by_label

    @admin.display(description="Rate card of the org")
    def organization_page(self, version):
        url = reverse("admin:ratecards_ratecardversion_organization", args=[version.organization_id])
        return format_html('<a href="{}">Current and pending versions, history</a>', url)

    @admin.display(description="Changes")
    def changes_table(self, version):
        entry = next((item for item in selectors.rate_card_history(version.organization)
                      if item["id"] == version.pk), None)
        if entry is None:
            return "-"
        return render_to_string("admin/ratecards/_changes.html", {"changes": entry["changes"],
                                                                  "currency": version.organization.currency})

    @admin.action(description="Cancel selected pending versions", permissions=["add"])
    def cancel_pending(self, request, queryset):
        done = 0
        for version in queryset:
            try:
                services.rate_card_version_cancel(actor=Actor(user=request.user), version=version)
                done += 1
            except LedgerError as error:
                self.message_user(request, f"v{version.number} of {version.organization.name}: {error.detail}",
                                  messages.ERROR)
        if done:
            self.message_user(request, f"Cancelled {done} pending version(s).", messages.SUCCESS)

    # --- custom views -----------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("organization/<uuid:organization_id>/", view(self.organization_view),
                 name="ratecards_ratecardversion_organization"),
            path("<int:version_id>/cancel/", view(require_POST(self.cancel_view)),
                 name="ratecards_ratecardversion_cancel"),
        ] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        """The rate card editor: rates as inline rows; saving creates a version through the service."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        user = request.user
        if request.method == "POST":
            form = RateCardForm(request.POST, user=user)
            formset = RateFormSet(request.POST, prefix="rates")
            form_ok, formset_ok = form.is_valid(), formset.is_valid()
            rows, indexes = _rate_rows(formset)
            if not formset_ok and rows:  # show the service's row checks along with the form's own
                try:
                    services.rates_clean(rows)
                except LedgerError as error:
                    _attach_errors(error, form, formset, indexes)
            if form_ok and formset_ok:
                try:
                    version = services.rate_card_version_create(
                        actor=Actor(user=user), organization=form.cleaned_data["organization"], rates=rows,
                        effective_from=form.cleaned_data.get("effective_from"), note=form.cleaned_data["note"])
                except LedgerError as error:
                    _attach_errors(error, form, formset, indexes)
                else:
                    when = "now" if version.status == VersionStatus.CURRENT else (
                        f"from {local_time(version.effective_from, version.organization)}")
                    self.log_addition(request, version, [{"added": {}}])
                    self.message_user(request, f"Saved {version}: in force {when}.", messages.SUCCESS)
                    return HttpResponseRedirect(
                        reverse("admin:ratecards_ratecardversion_organization", args=[version.organization_id]))
        else:
            organization = None
            if request.GET.get("organization"):
                organization = organizations_for(user).filter(pk=request.GET["organization"]).first()
            form = RateCardForm(user=user, initial={"organization": organization})
            formset = RateFormSet(prefix="rates", initial=self._initial_rates(organization))
        if form.is_bound:
            organization = getattr(form, "cleaned_data", {}).get("organization")
        else:
            organization = form.initial.get("organization")
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "Edit rate card",
            "form": form, "formset": formset, "organization": organization,
            **(self._side_by_side(organization) if organization else {}),
            "media": self.media + form.media + formset.media, **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/ratecards/ratecardversion/edit.html", context)

    def _initial_rates(self, organization) -> list[dict]:
        if organization is None:
            return []
        pending = selectors.rate_card_pending(organization)
        version = pending[-1] if pending else selectors.rate_card_current(organization)
        if version is None:
            return []
        # prices as typed (0.25, not 0.250000): the stored 6 decimal places are noise in an input box
        return [{"channel": r.channel, "country": r.country, "category": r.category,
                 "unit_price": _plain_price(r.unit_price)} for r in version.rates.all()]

    def _side_by_side(self, organization) -> dict:
        current = selectors.rate_card_current(organization)
        pending = selectors.rate_card_pending(organization)
        columns = [version for version in [current, *pending] if version is not None]
        prices = [{selectors.rate_key(rate): rate.unit_price for rate in version.rates.all()} for version in columns]
        keys = sorted(set().union(*prices)) if prices else []
        rows = []
        for channel, country, category in keys:
            cells = [column.get((channel, country, category)) for column in prices]
            rows.append({"channel": Channel(channel).label,
                         "country": f"{countries().get(country, country)} ({country})" if country else "Default",
                         "category": WhatsAppCategory(category).label if category in WhatsAppCategory.values
                         else (category or "Any"), "cells": cells,
                         "changed": len(set(cells)) > 1})
        return {"current": current, "pending": pending, "columns": columns, "rows": rows}

    def organization_view(self, request, organization_id):
        """An org's rate card: current and pending side by side, then every version with its diff."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        organization = self._organization_or_404(request, organization_id)
        local_now = timezone.now().astimezone(organization.tz)
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "organization": organization,
            "title": f"Rate card of {organization.name}", "can_edit": self.has_add_permission(request),
            "history": selectors.rate_card_history(organization), "local_now": local_now,
            "next_start": services.next_local_midnight(organization, timezone.now()).astimezone(organization.tz),
            **self._side_by_side(organization),
        }
        return TemplateResponse(request, "admin/ratecards/ratecardversion/organization.html", context)

    def cancel_view(self, request, version_id):
        """Cancel one pending version (POST), then back to the org's rate card."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        version = get_object_or_404(self.get_queryset(request), pk=version_id)
        try:
            services.rate_card_version_cancel(actor=Actor(user=request.user), version=version)
            self.message_user(request, f"Cancelled {version}.", messages.SUCCESS)
        except LedgerError as error:
            self.message_user(request, error.detail, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:ratecards_ratecardversion_organization",
                                            args=[version.organization_id]))
