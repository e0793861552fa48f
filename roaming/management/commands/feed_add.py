from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from roaming.errors import PartnerError
from roaming.services import feed_add


class Command(BaseCommand):
    help = (
        "Add a public read-only OCPI location feed (no credentials handshake). Pull it with "
        "`partner_sync NAME`; it is then pulled on the same schedule as partners."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="A name for the feed, unique")
        parser.add_argument("--locations-url", required=True, help="The feed's OCPI locations URL")
        parser.add_argument(
            "--header", default="", help='An HTTP header to send, e.g. "Authorization: Token abc"'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            feed = feed_add(
                name=options["name"],
                locations_url=options["locations_url"],
                header=options["header"],
            )
        except PartnerError as error:
            raise CommandError(f"Could not add the feed: {error.message}") from error
        self.stdout.write(
            self.style.SUCCESS(f"Added feed {feed.name}; pull it with: partner_sync {feed.name!r}")
        )
