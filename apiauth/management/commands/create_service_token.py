"""`manage.py create_service_token NAME --scope S --org ID [--org ID ...] | --all-orgs`: prints the token once."""

import uuid

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apiauth.models import Scope
from apiauth.services import service_token_create
from ledger.models import Organization


class Command(BaseCommand):
    help = "Create a service token for the internal API and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The service using the token (recorded as the actor of its operations).")
        parser.add_argument("--scope", action="append", choices=Scope.values, required=True, dest="scopes",
                            help="read, charge or manage; repeat for several.")
        orgs = parser.add_mutually_exclusive_group(required=True)
        orgs.add_argument("--org", action="append", dest="orgs", metavar="ID",
                          help="An org the token may use (UUID or wallet ID); repeat for several.")
        orgs.add_argument("--all-orgs", action="store_true",
                          help="The token sees and spends every org (platform-wide services only).")
        parser.add_argument("--rate", default="", help="Per-token throttle rate such as 600/min (default: API_TOKEN_RATE).")

    def handle(self, *args, name, scopes, orgs, all_orgs, rate, **options):
        organizations = [self.organization(ref) for ref in orgs or []]
        try:
            token, plain = service_token_create(name=name, scopes=scopes, organizations=organizations,
                                                all_organizations=all_orgs, throttle_rate=rate)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()))
        where = "every org" if all_orgs else ", ".join(org.name for org in organizations)
        self.stderr.write(f"Created token {token.prefix}… for {token.name} with scopes {', '.join(token.scopes)} "
                          f"on {where}.")
        self.stderr.write("Store it now: it is not shown again.")
        self.stdout.write(plain)

    @staticmethod
    def organization(ref: str) -> Organization:
        try:
            organization = Organization.objects.filter(pk=uuid.UUID(ref)).first()
        except ValueError:
            organization = Organization.objects.filter(wallet_id__iexact=ref).first()
        if organization is None:
            raise CommandError(f"No organization {ref} (give its UUID or wallet ID).")
        return organization
