"""Top-up limits and tax rules every install starts with, and the role groups' payments permissions.

Limits (002): INR 100 to 100,000 and USD 5 to 2,000 per top-up; other currencies are added by staff.
Tax: 18% GST on INR (CGST 9% + SGST 9% within the seller's state, IGST 18% otherwise); none elsewhere.
Subaccount users get `buy_credits`: they may use it only where their org turns individual user credits on.
"""

from decimal import Decimal

from django.contrib.auth.management import create_permissions
from django.db import migrations

DEFAULT_LIMITS = {"INR": (Decimal("100"), Decimal("100000")), "USD": (Decimal("5"), Decimal("2000"))}
DEFAULT_TAX_RULES = [{"currency": "INR", "country": "", "name": "GST", "rate": Decimal("18"),
                      "split_within_state": True, "intra_state_names": "CGST,SGST", "inter_state_name": "IGST"}]
ROLE_PERMISSIONS = {
    "Platform staff": [("payments", f"{action}_{model}") for model in ("topuplimit", "taxrule", "autorecharge")
                       for action in ("view", "add", "change")]
    + [("payments", f"view_{model}") for model in ("topup", "payment", "providerevent")]
    + [("payments", "record_payment")],
    "Finance": [("payments", f"view_{model}") for model in ("topup", "payment", "providerevent", "topuplimit",
                                                           "taxrule", "autorecharge")]
    + [("payments", "record_payment")],
    "Org admin": [("payments", "view_topup"), ("payments", "view_autorecharge"), ("payments", "add_autorecharge"),
                  ("payments", "change_autorecharge")],
    "Subaccount user": [("payments", "view_topup"), ("ledger", "buy_credits")],
}


def ensure_defaults(apps) -> None:
    """Create the default limits, tax rules and role permissions where missing (tests call it after a flush)."""
    TopUpLimit = apps.get_model("payments", "TopUpLimit")
    TaxRule = apps.get_model("payments", "TaxRule")
    for currency, (low, high) in DEFAULT_LIMITS.items():
        TopUpLimit.objects.get_or_create(currency=currency, defaults={"min_amount": low, "max_amount": high})
    for rule in DEFAULT_TAX_RULES:
        TaxRule.objects.get_or_create(currency=rule["currency"], country=rule["country"], defaults=rule)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = {(p.content_type.app_label, p.codename): p for p in Permission.objects.select_related("content_type")}
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*[permissions[key] for key in perms if key in permissions])


def forward(apps, schema_editor):
    app_config = apps.get_app_config("payments")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    ensure_defaults(apps)


def backward(apps, schema_editor):
    apps.get_model("payments", "TopUpLimit").objects.filter(currency__in=list(DEFAULT_LIMITS)).delete()
    apps.get_model("payments", "TaxRule").objects.filter(currency="INR", country="").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0001_initial"),
        ("ledger", "0005_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forward, backward)]
