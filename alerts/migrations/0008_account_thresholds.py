"""Per-account low-credit thresholds (the org's threshold stays the default), with history and role permissions."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models


# Who may set per-account thresholds: platform staff and org admins (scoped to their orgs); finance reads.
ROLE_PERMISSIONS = {
    "Platform staff": ["view_accountthreshold", "add_accountthreshold", "change_accountthreshold",
                       "delete_accountthreshold"],
    "Finance": ["view_accountthreshold"],
    "Org admin": ["view_accountthreshold", "add_accountthreshold", "change_accountthreshold",
                  "delete_accountthreshold"],
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
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="alerts",
                                                            codename__endswith="_accountthreshold"))


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0007_history_actor_service'),
        ('ledger', '0018_history_actor_service'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalAccountThreshold',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('history_actor_service', models.CharField(blank=True, default='', help_text='The service token (or job) that made the change when no user did.', max_length=100)),
                ('low_credit_threshold', models.DecimalField(decimal_places=6, help_text="Alert when this account's available credits drop below this.", max_digits=20)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('account', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='ledger.account')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical account threshold',
                'verbose_name_plural': 'historical account thresholds',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='AccountThreshold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('low_credit_threshold', models.DecimalField(decimal_places=6, help_text="Alert when this account's available credits drop below this.", max_digits=20)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('account', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='alert_threshold', to='ledger.account')),
            ],
            options={
                'verbose_name': 'account threshold',
                'constraints': [models.CheckConstraint(condition=models.Q(('low_credit_threshold__gte', 0)), name='account_threshold_not_negative')],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
