from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from roaming.ocpi.versions import our_versions_url
from roaming.services import partner_invite


class Command(BaseCommand):
    help = (
        "Invite a partner to register with us: prints our OCPI versions URL and a one-time "
        "TOKEN_A to hand to the partner. Running it again for the same name issues a new token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="A name for the partner, unique")

    def handle(self, *args: Any, **options: Any) -> None:
        partner, token_a = partner_invite(name=options["name"])
        self.stdout.write(f"Invitation for {partner.name}:")
        self.stdout.write(f"  versions URL: {our_versions_url()}")
        self.stdout.write(f"  token A:      {token_a}")
        self.stdout.write(
            "The token opens only versions and credentials, and expires on registration."
        )
