from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from roaming.errors import PartnerError
from roaming.models import Partner, SyncRun
from roaming.services import partner_sync


class Command(BaseCommand):
    help = (
        "Pull a partner's (or feed's) tariffs and locations now, in the foreground, with a "
        "progress bar. A delta pull unless --full or this is the first pull."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The partner or feed name")
        parser.add_argument(
            "--full", action="store_true", help="Pull everything; hide what is gone"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        partner = Partner.objects.filter(name=options["name"]).first()
        if partner is None:
            raise CommandError(f"No partner or feed is named {options['name']!r}.")
        with tqdm(unit=" objects", desc=partner.name, disable=options["verbosity"] == 0) as bar:

            def progress(run: SyncRun) -> None:
                bar.update(run.received - bar.n)

            try:
                run = partner_sync(partner=partner, full=options["full"], progress=progress)
            except PartnerError as error:
                raise CommandError(f"The pull of {partner.name} failed: {error.message}") from error
        self.stdout.write(
            f"{run.get_kind_display()} of {partner.name}: {run.received} received, "
            f"{run.written} written, {run.skipped_stale} unchanged or older, {run.hidden} hidden, "
            f"{run.invalid} invalid, in {run.duration_seconds:.1f} s"
        )
        for item in run.invalid_objects[:10]:
            self.stdout.write(f"  invalid {item['object_id']}: {item['reason']}")
