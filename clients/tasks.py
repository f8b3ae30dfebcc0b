"""Thin Celery tasks of the clients app (K2): load by id or take the time, call one service."""

from celery import shared_task
from django.utils import timezone

from clients import selectors
from clients.models import Invitation
from clients.services import members


@shared_task(name="clients.sweep_invitations")
def sweep_invitations() -> int:
    """Retry invitations whose e-mail failed or whose sending was lost (a worker died between
    recording the try and the mail server's answer). Safe to run twice: a retry claims its try
    first, and an invitation sent meanwhile is left alone."""
    due = selectors.invitations_to_retry(timezone.now())
    for invitation_id in due:
        retry_invitation.delay(invitation_id)
    return len(due)


@shared_task(name="clients.retry_invitation")
def retry_invitation(invitation_id: int) -> str:
    invitation = Invitation.objects.select_related("organisation", "client", "invited_by").get(
        pk=invitation_id
    )
    return members.retry_sending(invitation=invitation, now=timezone.now()).delivery
