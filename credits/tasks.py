"""Thin Celery tasks (K2): each calls one service with the current time."""

import logging

from celery import shared_task
from django.utils import timezone

from credits import services
from credits.audit import ledger_drift

logger = logging.getLogger(__name__)


@shared_task(name="credits.expire_due")
def expire_due() -> dict[str, int]:
    """Holds and lots past their expiry. Safe to run twice or at once (locks, re-reads)."""
    run = services.expire_due(now=timezone.now())
    return {
        "organisations": run.organisations,
        "holds_expired": run.holds_expired,
        "credits_expired": run.credits_expired,
    }


@shared_task(name="credits.expire_holds")
def expire_holds() -> int:
    return services.expire_holds(now=timezone.now()).holds_expired


@shared_task(name="credits.reset_monthly")
def reset_monthly() -> int:
    return services.reset_monthly(now=timezone.now())


@shared_task(name="credits.roll_up_usage")
def roll_up_usage() -> dict[str, int]:
    """Closed days of consumptions into the usage roll-up. Safe to run twice or at once, or
    to kill: each batch of organisations moves its marks with its rows, in one transaction."""
    run = services.roll_up_usage(now=timezone.now())
    return {"organisations": run.organisations, "rows": run.rows}


@shared_task(name="credits.ledger_check")
def ledger_check() -> list[str]:
    """Alert (log at error level) on drift; never corrects."""
    drifts = [str(drift) for drift in ledger_drift()]
    for drift in drifts:
        logger.error("ledger drift: %s", drift)
    return drifts


@shared_task(name="credits.send_expiry_reminders")
def send_expiry_reminders() -> dict[str, int]:
    """Expiry reminders at each organisation's lead times (D3), then the retries of notices
    the mail server refused. Safe to run twice or at once: each reminder has a unique record."""
    run = services.send_expiry_reminders(now=timezone.now())
    return {"organisations": run.organisations, "reminders": run.reminders, "sent": run.sent}


@shared_task(name="credits.run_balance_alerts")
def run_balance_alerts() -> int:
    """Low-balance e-mails, once per crossing (B1), then the retries of refused notices."""
    return services.run_balance_alerts(now=timezone.now())
