"""`manage.py create_service_token NAME --scope read|charge|manage`: prints the new token once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apiauth.models import Scope
from apiauth.services import service_token_create


class Command(BaseCommand):
    help = "Create a service token for the internal API and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The service using the token (recorded as the actor of its operations).")
        parser.add_argument("--scope", action="append", choices=Scope.values, required=True, dest="scopes",
                            help="read, charge or manage; repeat for several.")
        parser.add_argument("--rate", default="", help="Per-token throttle rate such as 600/min (default: API_TOKEN_RATE).")

    def handle(self, *args, name, scopes, rate, **options):
        try:
            token, plain = service_token_create(name=name, scopes=scopes, throttle_rate=rate)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()))
        self.stderr.write(f"Created token {token.prefix}… for {token.name} with scopes {', '.join(token.scopes)}.")
        self.stderr.write("Store it now: it is not shown again.")
        self.stdout.write(plain)
