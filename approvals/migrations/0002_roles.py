"""The role groups' approvals permissions: platform staff set thresholds; staff, finance and org admins see requests.

Deciding a request needs no permission of its own: the approver needs the one the action needs
(ledger.add_credits for grants and ledger.remove_credits for removals since ledger 0024, which split
ledger.manage_credits; ledger.set_credit_limit for limits).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Platform staff": [("approvals", "view_approvalthreshold"), ("approvals", "add_approvalthreshold"),
                       ("approvals", "change_approvalthreshold"), ("approvals", "view_approvalrequest")],
    "Finance": [("approvals", "view_approvalthreshold"), ("approvals", "view_approvalrequest")],
    "Org admin": [("approvals", "view_approvalrequest")],
}


def ensure_roles(apps) -> None:
    """Give the role groups their approvals permissions (tests call it after a flush)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)


def forward(apps, schema_editor):
    app_config = apps.get_app_config("approvals")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial"), ("ledger", "0005_roles")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
