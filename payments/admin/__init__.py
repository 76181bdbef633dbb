"""Admin of payments: top-ups (list, purchase screens, confirmation, receipts), payments received and the
refunds they may need, provider events, and staff settings (limits, tax rules, auto-recharge)."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from ledger import console_forms
from ledger.admin.accounts import ReadOnlyLedgerAdmin
from ledger.admin.base import ServiceSavingAdmin
from ledger.admin.display import MoneyDisplayMixin
from ledger.errors import LedgerError
from ledger.models import Transaction, TransactionKind
from ledger.money import money
from ledger.selectors import accounts_for, sees_all_organizations
from ledger.services import Actor, invoice_outstanding

from .. import auto_recharge, services
from ..forms import RecordPaymentForm
from ..models import (
    AutoRecharge,
    Payment,
    PaymentStatus,
    ProviderEvent,
    TaxRule,
    TopUp,
    TopUpLimit,
    TopUpStatus,
)
from ..selectors import payments_for, top_ups_for
from . import purchase

RECORD_PERMISSION = "payments.record_payment"


@admin.register(TopUp)
class TopUpAdmin(MoneyDisplayMixin, ReadOnlyLedgerAdmin):
    list_display = ["created_at", "organization", "account", "amount_col", "tax_col", "total_col", "provider",
                    "status", "invoice_number", "receipt_col"]
    list_filter = ["status", "provider", "currency", "origin"]
    search_fields = ["invoice_number", "provider_reference", "provider_payment_id", "billing_name",
                     "organization__name", "organization__wallet_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "organization", "account", "amount", "tax", "total", "currency", "tax_lines_col",
                       "billing_name", "billing_address", "billing_country", "billing_state", "billing_tax_id",
                       "billing_email", "provider", "provider_reference", "provider_payment_id", "checkout_url",
                       "status", "origin", "created_at", "expires_at", "paid_at", "closed_at", "failure_reason",
                       "transaction", "invoice_number", "invoice_date", "created_by", "created_by_service"]

    def get_queryset(self, request):
        return top_ups_for(request.user).select_related("organization", "account")

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in ("organization__id__exact", "account__id__exact") or super().lookup_allowed(
            lookup, value, request)

    @admin.display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.currency)

    @admin.display(description="Tax")
    def tax_col(self, obj):
        return money(obj.tax, obj.currency)

    @admin.display(description="Total", ordering="total")
    def total_col(self, obj):
        return money(obj.total, obj.currency)

    @admin.display(description="Tax lines")
    def tax_lines_col(self, obj):
        return "; ".join(f"{name} {rate}: {value}" for name, rate, value in obj.tax_rows()) or "—"

    @admin.display(description="Receipt")
    def receipt_col(self, obj):
        if obj.status != TopUpStatus.PAID:
            return "—"
        return format_html('<a href="{}" class="receipt-link">PDF</a>',
                           reverse("admin:payments_topup_receipt", args=[obj.pk]))

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(lambda request, **kwargs: function(self, request, **kwargs))

        return [
            path("buy/<str:org_id>/", view(purchase.buy_view), name="payments_topup_buy"),
            path("<str:top_up_id>/confirmation/", view(purchase.confirmation_view),
                 name="payments_topup_confirmation"),
            path("<str:top_up_id>/receipt/", view(purchase.receipt_view), name="payments_topup_receipt"),
            path("<str:top_up_id>/cancel/", view(purchase.cancel_view), name="payments_topup_cancel"),
            path("<str:top_up_id>/record-payment/", view(record_top_up_payment_view),
                 name="payments_topup_record_payment"),
            path("invoice/<int:invoice_id>/record-payment/", view(record_invoice_payment_view),
                 name="payments_invoice_record_payment"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        top_up = purchase.scoped_top_up(request, object_id)
        extra_context = {**(extra_context or {}), "can_record": request.user.has_perm(RECORD_PERMISSION)
                         and top_up.status in (TopUpStatus.PENDING, TopUpStatus.FAILED),
                         "record_url": reverse("admin:payments_topup_record_payment", args=[top_up.pk]),
                         "confirmation_url": purchase.confirmation_url(top_up)}
        return super().change_view(request, object_id, form_url, extra_context)


def _record_form_page(model_admin, request, *, title, form, back_url, subject, status=200):
    context = {**model_admin.admin_site.each_context(request), "opts": TopUp._meta, "title": title, "form": form,
               "back_url": back_url, "subject": subject}
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "payments/record_payment.html", context, status=status)


def _record_payment(model_admin, request, *, organization, action: str, title: str, back_url: str, subject: str,
                    initial: dict, perform):
    """A record-payment form that records at most once (ledger.console_forms): each rendering carries a
    one-time token, claimed by the first valid submission; Back and resubmit, a reload or a second tab
    find it used and record nothing. `perform(data, key)` records (the token id is its idempotency key)
    and returns (where to go, what to say)."""
    signed = request.POST.get("form_token", "") if request.method == "POST" else ""
    token = console_forms.form_token_get(signed=signed, user=request.user, organization=organization,
                                         action=action) if signed else None
    form = RecordPaymentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if token is None:  # no token, tampered with, another user's or action's, or purged
            form.add_error(None, "This form had expired: nothing was recorded. Check the values and submit again.")
        else:
            claim = console_forms.form_token_claim(token=token, fingerprint="", summary=subject)
            if claim.outcome == "used":
                model_admin.message_user(request, "Already recorded: this form was submitted before, so nothing "
                                                  "was recorded twice.", messages.INFO)
                return redirect(claim.token.result_url or back_url)
            try:
                with console_forms.released_on_failure(token):
                    url, message = perform(form.cleaned_data, str(token.pk))
            except LedgerError as exc:
                form.add_ledger_error(exc)
            else:
                console_forms.form_token_complete(token=token, summary=message, result_url=url)
                model_admin.message_user(request, message, messages.SUCCESS)
                return redirect(url)
    if token is None or token.claimed_at is not None:
        signed = console_forms.form_token_issue(user=request.user, organization=organization, action=action)
    form.fields["form_token"].initial = signed
    if form.is_bound:
        form.data = form.data.copy()
        form.data["form_token"] = signed
    return _record_form_page(model_admin, request, title=title, form=form, back_url=back_url, subject=subject,
                             status=400 if form.errors else 200)


def record_top_up_payment_view(model_admin, request, top_up_id):
    """Finance records a bank transfer / purchase order payment against a pending top-up: it settles it."""
    if not request.user.has_perm(RECORD_PERMISSION):
        raise PermissionDenied
    top_up = purchase.scoped_top_up(request, top_up_id)
    subject = (f"Top-up of {money(top_up.amount, top_up.currency)} (total {money(top_up.total, top_up.currency)}) "
               f"for {top_up.organization.name} / {top_up.account.name}, {top_up.get_status_display().lower()}")

    def perform(data, key):
        services.bank_payment_record(actor=Actor(user=request.user), top_up=top_up, reference=data["reference"],
                                     amount=data["amount"], received_on=data["received_on"])
        model_admin.log_change(request, top_up, f"Bank payment {data['reference']} recorded.")
        return (purchase.confirmation_url(top_up),
                f"Payment {data['reference']} recorded: the credits were added.")

    return _record_payment(model_admin, request, organization=top_up.organization, action="record-top-up-payment",
                           title="Record a bank payment", back_url=reverse("admin:payments_topup_change",
                                                                           args=[top_up.pk]),
                           subject=subject, initial={"amount": top_up.total}, perform=perform)


def record_invoice_payment_view(model_admin, request, invoice_id):
    """Finance records a payment received against a postpaid invoice (clears what the org owes)."""
    if not request.user.has_perm(RECORD_PERMISSION) or not sees_all_organizations(request.user):
        raise PermissionDenied
    invoice = Transaction.objects.select_related("account", "organization").filter(
        pk=invoice_id, kind=TransactionKind.INVOICE).first()
    if invoice is None:
        raise Http404("No such invoice.")
    outstanding = invoice_outstanding(invoice)
    back = reverse("admin:ledger_transaction_change", args=[invoice.pk])
    subject = (f"Invoice {invoice.period} of {invoice.organization.name} / {invoice.account.name}: "
               f"{money(invoice.amount, invoice.currency)}, outstanding {money(outstanding, invoice.currency)}")

    def perform(data, key):
        services.postpaid_payment_record(actor=Actor(user=request.user), invoice=invoice,
                                         reference=data["reference"], amount=data["amount"],
                                         received_on=data["received_on"], idempotency_key=f"record-payment:{key}")
        return back, (f"Payment {data['reference']} of {money(data['amount'], invoice.currency)} recorded against "
                      f"invoice {invoice.period}.")

    return _record_payment(model_admin, request, organization=invoice.organization, action="record-invoice-payment",
                           title="Record an invoice payment", back_url=back, subject=subject,
                           initial={"amount": outstanding}, perform=perform)


@admin.register(Payment)
class PaymentAdmin(MoneyDisplayMixin, ReadOnlyLedgerAdmin):
    list_display = ["received_at", "organization", "provider", "provider_payment_id", "amount_col", "status",
                    "top_up_link", "note"]
    list_filter = ["status", "provider", "currency"]
    search_fields = ["provider_payment_id", "organization__name", "note"]
    actions = ["mark_refunded"]

    def get_queryset(self, request):
        return payments_for(request.user).select_related("organization", "top_up")

    @admin.display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return money(obj.amount, obj.currency)

    @admin.display(description="Top-up")
    def top_up_link(self, obj):
        if obj.top_up_id is None:
            return "invoice"
        return format_html('<a href="{}">{}</a>', reverse("admin:payments_topup_change", args=[obj.top_up_id]),
                           obj.top_up.invoice_number or str(obj.top_up_id)[:8])

    def has_mark_refunded_permission(self, request):
        return request.user.has_perm(RECORD_PERMISSION)

    @admin.action(description="Mark selected payments as refunded", permissions=["mark_refunded"])
    def mark_refunded(self, request, queryset):
        done = 0
        for payment in queryset.filter(status=PaymentStatus.REFUND_DUE):
            services.payment_refunded_mark(actor=Actor(user=request.user), payment=payment)
            done += 1
        self.message_user(request, f"{done} payment(s) marked refunded.", messages.SUCCESS)


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["received_at", "provider", "type", "event_id", "top_up", "outcome"]
    list_filter = ["provider", "type"]
    search_fields = ["event_id", "outcome"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if sees_all_organizations(request.user) else queryset.none()


@admin.register(TopUpLimit)
class TopUpLimitAdmin(MoneyDisplayMixin, SimpleHistoryAdmin):
    list_display = ["currency", "min_col", "max_col"]

    @admin.display(description="Min amount", ordering="min_amount")
    def min_col(self, obj):
        return money(obj.min_amount, obj.currency)

    @admin.display(description="Max amount", ordering="max_amount")
    def max_col(self, obj):
        return money(obj.max_amount, obj.currency)



@admin.register(TaxRule)
class TaxRuleAdmin(SimpleHistoryAdmin):
    list_display = ["currency", "country", "name", "rate_col", "split_within_state"]

    @admin.display(description="Rate", ordering="rate")
    def rate_col(self, obj):
        return f"{obj.rate.normalize():f}%"

    def get_fields(self, request, obj=None):
        """Read-only viewers see the rate as a percentage."""
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return ["rate_col" if name == "rate" else name for name in fields]
        return fields


class AutoRechargeForm(forms.ModelForm):
    class Meta:
        model = AutoRecharge
        fields = ["account", "enabled", "threshold", "mode", "amount", "target", "max_per_day", "provider",
                  "customer_reference", "payment_method", "billing"]
        help_texts = {"billing": 'JSON: {"name", "address", "country", "state", "tax_id", "email"} as on a top-up.'}

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                data["billing"] = auto_recharge.auto_recharge_validate(**_rule_fields(data))
            except LedgerError as exc:
                for key, messages_ in (exc.errors or {"__all__": [exc.detail]}).items():
                    field = key if key in self.fields else "billing" if key.startswith("billing.") else None
                    for message in messages_:
                        self.add_error(field, message)
        return data


def _rule_fields(data: dict) -> dict:
    return {"account": data["account"], "threshold": data["threshold"], "mode": data["mode"],
            "amount": data.get("amount"), "target": data.get("target"), "provider": data["provider"],
            "payment_method": data["payment_method"], "billing": data.get("billing") or {}}


@admin.register(AutoRecharge)
class AutoRechargeAdmin(MoneyDisplayMixin, ServiceSavingAdmin, SimpleHistoryAdmin):
    form = AutoRechargeForm
    currency_path = "account__organization__currency"
    list_display = ["account", "enabled", "threshold_col", "mode", "amount_col", "target_col", "max_per_day",
                    "provider", "disabled_reason"]
    list_filter = ["enabled", "provider", "mode"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(account__in=accounts_for(request.user)).select_related(
            "account__organization")

    @admin.display(description="Threshold", ordering="threshold")
    def threshold_col(self, obj):
        return money(obj.threshold, obj.account.organization.currency)

    @admin.display(description="Amount", ordering="amount")
    def amount_col(self, obj):
        return "—" if obj.amount is None else money(obj.amount, obj.account.organization.currency)

    @admin.display(description="Target", ordering="target")
    def target_col(self, obj):
        return "—" if obj.target is None else money(obj.target, obj.account.organization.currency)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        accounts = accounts_for(request.user).filter(balance_mode="own").select_related("organization")
        if not sees_all_organizations(request.user):
            accounts = accounts.filter(organization__admins=request.user)
        form.base_fields["account"].queryset = accounts
        return form

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = auto_recharge.auto_recharge_save(
            **_rule_fields(data), max_per_day=data["max_per_day"], customer_reference=data["customer_reference"],
            enabled=data["enabled"], user=request.user)
        obj.pk, obj._state.adding, obj._state.db = saved.pk, False, saved._state.db

