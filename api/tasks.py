"""Thin Celery tasks (K2): each calls one service with the current time."""

from celery import shared_task
from django.utils import timezone

from api import services


@shared_task(name="api.forget_old_requests")
def forget_old_requests() -> int:
    """Answers kept for replay past their retention are deleted, in batches."""
    return services.forget_old_requests(now=timezone.now())
