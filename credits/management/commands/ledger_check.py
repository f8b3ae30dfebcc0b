from django.core.management.base import BaseCommand, CommandError

from credits.audit import ledger_drift


class Command(BaseCommand):
    help = (
        "Recompute every credit figure from the ledger and check every link of its rows; "
        "exit non-zero on any drift."
    )

    def handle(self, *args, **options) -> None:
        drifts = ledger_drift()
        for drift in drifts:
            self.stderr.write(str(drift))
        if drifts:
            raise CommandError(
                f"ledger drift: {len(drifts)} figure(s) or link(s) disagree with the entries"
            )
        self.stdout.write(
            "ledger clean: every figure equals what its entries add up to,"
            " and every link points at a row of the same organisation"
        )
