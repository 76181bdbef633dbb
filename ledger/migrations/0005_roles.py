"""Create the four role groups of the staff console with their permissions.

Platform staff: every org, every action. Finance: read-only everywhere plus ledger pages and
exports. Org admin: their own orgs (scoped in the admin), transfers and top-ups. Subaccount
user: their own subaccounts and last 30 days. Object-level scoping lives in the admin querysets
(ledger.selectors); these permissions only say which screens and actions a role has at all.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

LEDGER_MODELS = ["organization", "account", "creditlot", "transaction", "posting", "hold", "creditlimitchange",
                 "systemaccount"]
RATECARD_MODELS = ["ratecardversion", "rate"]
CUSTOM = ["manage_credits", "set_credit_limit", "transfer_credits", "toggle_credit_management", "view_ledger",
          "export_ledger", "buy_credits"]


ROLE_PERMISSIONS = {
    "Platform staff": (
        [("ledger", f"view_{m}") for m in LEDGER_MODELS]
        + [("ledger", "add_organization"), ("ledger", "change_organization"),
           ("ledger", "add_account"), ("ledger", "change_account")]
        + [("ledger", c) for c in CUSTOM]
        + [("ratecards", f"{a}_{m}") for m in RATECARD_MODELS for a in ("view", "add", "change")]
    ),
    "Finance": (
        [("ledger", f"view_{m}") for m in LEDGER_MODELS]
        + [("ledger", "view_ledger"), ("ledger", "export_ledger")]
        + [("ratecards", f"view_{m}") for m in RATECARD_MODELS]
    ),
    "Org admin": (
        [("ledger", f"view_{m}") for m in ["organization", "account", "creditlot", "transaction", "hold",
                                          "creditlimitchange"]]
        + [("ledger", "view_ledger"), ("ledger", "transfer_credits"), ("ledger", "buy_credits")]
        + [("ratecards", f"view_{m}") for m in RATECARD_MODELS]
    ),
    "Subaccount user": [("ledger", "view_account"), ("ledger", "view_transaction")],
}


def create_roles(apps, schema_editor):
    """Create (or complete) the role groups; permissions are created first on a fresh database."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0004_organization_permissions"),
        ("ratecards", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
