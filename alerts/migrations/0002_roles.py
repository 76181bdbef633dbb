"""Give the staff-console role groups their alerts permissions (groups are created if missing).

Platform staff: everything. Finance: read-only. Org admins: edit their own org's alert settings
(scoped in the admin), read and dismiss its notifications. Webhooks are for internal services and
stay with platform staff.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ["alertsettings", "notification", "webhookendpoint", "webhookdelivery"]
ROLE_PERMISSIONS = {
    "Platform staff": [f"{action}_{model}" for model in MODELS for action in ("view", "add", "change")]
    + ["delete_webhookendpoint"],
    "Finance": [f"view_{model}" for model in MODELS],
    "Org admin": ["view_alertsettings", "add_alertsettings", "change_alertsettings", "view_notification",
                  "change_notification"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("alerts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="alerts", codename__in=codenames))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="alerts"))


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
