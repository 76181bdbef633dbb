"""Who may move money, and individual user credits (issue 16).

Permissions: `manage_credits` (add and remove together) is split into `add_credits` and `remove_credits`;
every group and user that had it gets both, then it is deleted (no code asks for it any more). New grants:
- "Credit managers", a new group that adds `add_credits` and `remove_credits` on top of a role: with Org
  admin, for the orgs the user administers; with Finance, for every org ("selected finance users").
- Org admin: `export_ledger` (CSV and print of their own orgs' ledgers, the six-month usage export) and
  `change_individual_credits` (the individual user credit settings of their orgs, nothing else).
- Subaccount user: `transfer_credits` (their own subaccounts only, where the org turns individual user
  credits on; ledger.selfservice decides).
Org settings: `user_to_user_transfers` (off by default) and `transfer_conditions` (the tick box's text).
"""

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

CREDIT_MANAGERS = "Credit managers"
GRANTS = {
    CREDIT_MANAGERS: [("ledger", "add_credits"), ("ledger", "remove_credits")],
    "Org admin": [("ledger", "export_ledger"), ("ledger", "change_individual_credits")],
    "Subaccount user": [("ledger", "transfer_credits")],
}


def _permission(apps, codename):
    return apps.get_model("auth", "Permission").objects.filter(content_type__app_label="ledger",
                                                               codename=codename).first()


def split_and_grant(apps, schema_editor):
    """Give add_credits and remove_credits to every holder of manage_credits, delete it, then the new grants."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    move_grants(apps)


def move_grants(apps):
    """The data part of `split_and_grant` (tests run it on their own database)."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    add, remove, old = (_permission(apps, name) for name in ("add_credits", "remove_credits", "manage_credits"))
    if old is not None:
        for group in Group.objects.filter(permissions=old):
            group.permissions.add(add, remove)
        for user in User.objects.filter(user_permissions=old):
            user.user_permissions.add(add, remove)
        old.delete()
    for name, perms in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for _app, codename in perms:
            permission = _permission(apps, codename)
            if permission is not None:
                group.permissions.add(permission)


def merge_and_revoke(apps, schema_editor):
    """Back: manage_credits again for whoever holds both halves; the new grants revoked."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    organization_type, _ = ContentType.objects.get_or_create(app_label="ledger", model="organization")
    old, _ = Permission.objects.get_or_create(content_type=organization_type, codename="manage_credits",
                                              defaults={"name": "Can add and remove credits"})
    add, remove = _permission(apps, "add_credits"), _permission(apps, "remove_credits")
    for name, perms in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None and name != CREDIT_MANAGERS:
            group.permissions.remove(*[_permission(apps, codename) for _app, codename in perms])
    Group.objects.filter(name=CREDIT_MANAGERS).delete()
    if add is not None and remove is not None:
        for group in Group.objects.filter(permissions=add).filter(permissions=remove):
            group.permissions.add(old)
        for user in User.objects.filter(user_permissions=add).filter(user_permissions=remove):
            user.user_permissions.add(old)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0023_charge_reports_lock_wait'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='organization',
            options={'ordering': ['name'], 'permissions': [('add_credits', 'Can add credits'), ('remove_credits', 'Can remove credits (and charge or hold with a staff session)'), ('set_credit_limit', 'Can set credit limits'), ('transfer_credits', 'Can transfer credits between accounts'), ('toggle_credit_management', 'Can switch credit management on or off'), ('view_ledger', 'Can view ledger pages and reports'), ('export_ledger', 'Can export ledgers as CSV'), ('buy_credits', 'Can buy credits (top-ups)'), ('set_spending_policy', 'Can change the spending policy'), ('change_individual_credits', 'Can change the individual user credit settings')]},
        ),
        migrations.AddField(
            model_name='historicalorganization',
            name='transfer_conditions',
            field=models.TextField(blank=True, db_default='', default='', help_text='The conditions a subaccount user agrees to (a tick box) before each transfer of their credits.', max_length=2000),
        ),
        migrations.AddField(
            model_name='historicalorganization',
            name='user_to_user_transfers',
            field=models.BooleanField(db_default=False, default=False, help_text="With individual user credits: subaccount users may also transfer to other users' subaccounts."),
        ),
        migrations.AddField(
            model_name='organization',
            name='transfer_conditions',
            field=models.TextField(blank=True, db_default='', default='', help_text='The conditions a subaccount user agrees to (a tick box) before each transfer of their credits.', max_length=2000),
        ),
        migrations.AddField(
            model_name='organization',
            name='user_to_user_transfers',
            field=models.BooleanField(db_default=False, default=False, help_text="With individual user credits: subaccount users may also transfer to other users' subaccounts."),
        ),
        migrations.RunPython(split_and_grant, merge_and_revoke),
    ]
