"""`manage.py sandbox_connect`: connect Plugway to the sandbox CPO that `scripts/dev.py run`
started beside it. Sandbox tooling, not a partner command: it registers through the same
`roaming.services` an admin's `partner_register` uses, under a fixed name it may replace."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from roaming.errors import PartnerError
from roaming.models import Partner, PartnerState
from roaming.services import partner_register, partner_sync, partner_unregister

SANDBOX_NAME = "Sandbox CPO"


class Command(BaseCommand):
    help = (
        "For the embedded setup (scripts/dev.py run): connect Plugway to a freshly started "
        "sandbox CPO through the real registration path and pull its stations. A sandbox keeps "
        "its state in memory, so each start is a new CPO and is registered afresh. With "
        "--check, only say (exit status 0 or 1) whether a sandbox is wanted: it is not once "
        "another partner or feed is connected (a pending invite does not count)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--versions-url", help="The sandbox's versions URL")
        parser.add_argument("--token-a", help="The sandbox's token A")
        parser.add_argument("--check", action="store_true", help="Only tell whether one is wanted")

    def handle(self, *args: Any, **options: Any) -> None:
        others = Partner.objects.exclude(name=SANDBOX_NAME)
        # Only a partner that is connected replaces the sandbox: an invite nobody answered, or a
        # handshake that never finished, would leave the map with no live stations at all.
        connected = others.filter(state__in=[PartnerState.ACTIVE, PartnerState.DEGRADED])
        if options["check"]:
            if connected.exists():
                self.stdout.write(f"Partners are connected ({connected.first()}, ...): no sandbox.")
                sys.exit(1)
            pending = others.filter(state__in=[PartnerState.INVITED, PartnerState.REGISTERING])
            for partner in pending:
                self.stdout.write(
                    f"{partner.name} is {partner.get_state_display().lower()}: the sandbox "
                    "starts until a partner is connected."
                )
            return
        if not (options["versions_url"] and options["token_a"]):
            raise CommandError("--versions-url and --token-a are required")
        previous = Partner.objects.filter(name=SANDBOX_NAME).first()
        if previous is not None:
            partner_unregister(partner=previous)
        try:
            partner = partner_register(
                name=SANDBOX_NAME, versions_url=options["versions_url"], token_a=options["token_a"]
            )
            run = partner_sync(partner=partner, full=True)
        except PartnerError as error:
            raise CommandError(f"Could not connect to the sandbox: {error.message}") from error
        self.stdout.write(
            f"Connected to the sandbox CPO: {run.written} stations and tariffs pulled in "
            f"{run.duration_seconds:.1f} s; live status changes arrive as pushes."
        )
