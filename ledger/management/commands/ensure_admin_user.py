"""manage.py ensure_admin_user: create the first superuser with a generated password, printed once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Creates an 'admin' superuser with a generated password if no superuser exists yet."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("A superuser already exists; its password was printed when it was created.")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, email=f"{username}@localhost", password=password)
        self.stdout.write(self.style.SUCCESS(
            f"Created superuser {username!r} with password: {password}\n"
            "  (shown once; change it with `manage.py changepassword`)"))
