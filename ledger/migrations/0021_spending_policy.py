"""Spending policy per org (issue 16): the fields, the permission to change them (platform staff), and
ledger_charge() enforcing the policy (ledger/sql/functions/ledger_charge.sql, pinned by hash)."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

from ledger.sqlfiles import ApplyCurrentSQL, pinned_text, sqlite_guards_rebuilt, statements

NEW_CHARGE = ("ledger_charge(uuid, uuid, uuid, text, text, numeric, numeric, integer, text, text, text, text, text, "
              "bigint, uuid, integer, text, timestamptz, bigint, bigint, text, text, text, text)")


def grant_to_platform_staff(apps, schema_editor):
    """The platform staff role may change spending policies (superusers may anyway)."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    permission = apps.get_model("auth", "Permission").objects.get(content_type__app_label="ledger",
                                                                  codename="set_spending_policy")
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="Platform staff")
    group.permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0020_truncate_and_posting_guards'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [*sqlite_guards_rebuilt(
        migrations.AlterModelOptions(
            name='organization',
            options={'ordering': ['name'], 'permissions': [('manage_credits', 'Can add and remove credits'), ('set_credit_limit', 'Can set credit limits'), ('transfer_credits', 'Can transfer credits between accounts'), ('toggle_credit_management', 'Can switch credit management on or off'), ('view_ledger', 'Can view ledger pages and reports'), ('export_ledger', 'Can export ledgers as CSV'), ('buy_credits', 'Can buy credits (top-ups)'), ('set_spending_policy', 'Can change the spending policy')]},
        ),
        migrations.AddField(
            model_name='historicalorganization',
            name='spending_floor',
            field=models.DecimalField(decimal_places=6, default=Decimal('0'), db_default=Decimal('0'), help_text='Stop when depleted: charges and holds are refused while available is at or below this (0 by default).', max_digits=20),
        ),
        migrations.AddField(
            model_name='historicalorganization',
            name='spending_policy',
            field=models.CharField(choices=[('promotional_must_fit', 'Promotional must fit (transactional never refused)'), ('all_must_fit', 'Every charge and hold must fit available'), ('stop_when_depleted', 'Stop when depleted (blocked at or below the floor)')], default='promotional_must_fit', db_default='promotional_must_fit', help_text='What may be spent when credits run short (changed by platform staff).', max_length=20),
        ),
        migrations.AddField(
            model_name='organization',
            name='spending_floor',
            field=models.DecimalField(decimal_places=6, default=Decimal('0'), db_default=Decimal('0'), help_text='Stop when depleted: charges and holds are refused while available is at or below this (0 by default).', max_digits=20),
        ),
        migrations.AddField(
            model_name='organization',
            name='spending_policy',
            field=models.CharField(choices=[('promotional_must_fit', 'Promotional must fit (transactional never refused)'), ('all_must_fit', 'Every charge and hold must fit available'), ('stop_when_depleted', 'Stop when depleted (blocked at or below the floor)')], default='promotional_must_fit', db_default='promotional_must_fit', help_text='What may be spent when credits run short (changed by platform staff).', max_length=20),
        ),
        migrations.AddConstraint(
            model_name='organization',
            constraint=models.CheckConstraint(condition=models.Q(('spending_policy__in', ['promotional_must_fit', 'all_must_fit', 'stop_when_depleted'])), name='organization_spending_policy_valid'),
        ),
        migrations.AddConstraint(
            model_name='organization',
            constraint=models.CheckConstraint(condition=models.Q(('spending_floor__gte', 0)), name='organization_spending_floor_not_negative'),
        ),
    ),
        ApplyCurrentSQL(
            {"functions/ledger_charge.sql": "fe782a52fdf2"},
            reverse_sql={"postgresql": [f"DROP FUNCTION IF EXISTS {NEW_CHARGE}",
                                        *statements(pinned_text("functions/ledger_charge.sql", "cf984cb391a5"))]},
        ),
        migrations.RunPython(grant_to_platform_staff, migrations.RunPython.noop),
    ]
