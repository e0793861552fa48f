from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from roaming.errors import PartnerError
from roaming.services import partner_register


class Command(BaseCommand):
    help = (
        "Register with a roaming partner (CPO or hub) from the versions URL and TOKEN_A it gave "
        "you: negotiates the highest mutual OCPI version, exchanges tokens and stores its roles."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="A name for the partner, unique")
        parser.add_argument("--versions-url", required=True, help="The partner's OCPI versions URL")
        parser.add_argument("--token", required=True, help="The TOKEN_A the partner gave you")
        parser.add_argument(
            "--raw-token", action="store_true", help="Send the token unencoded (older peers)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner = partner_register(
                name=options["name"],
                versions_url=options["versions_url"],
                token_a=options["token"],
                raw_token=options["raw_token"],
            )
        except PartnerError as error:
            raise CommandError(
                f"Could not register with {options['name']}: {error.message}"
            ) from error
        roles = ", ".join(str(role) for role in partner.roles.all())
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered with {partner.name} (OCPI {partner.version}); roles: {roles}"
            )
        )
