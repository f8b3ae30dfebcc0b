"""Memberships and invitations: who belongs to an organisation, with which role (D4, X5).

An invitation is recorded and committed first; only then is the e-mail handed to the mail
server, outside any transaction, and the outcome recorded (`sent_at` once the server accepted
it, `send_error` when it did not). A failed or lost sending keeps the invitation: "Send again"
or the sweep (`clients.tasks`) sends a fresh link. Only a hash of the link's token is stored,
so a retry cannot resend the old link: it draws a new token and the old link stops working.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clients.exceptions import (
    AlreadyMemberError,
    ClientsError,
    InvitationClosedError,
    InvitationPendingError,
    LastOwnerError,
    UsernameTakenError,
    WrongPersonError,
)
from clients.models import Client, Invitation, Membership, Organisation, Role
from clients.selectors import email_has_account

logger = logging.getLogger(__name__)

INVITATION_VALID_FOR = timedelta(days=7)


def _last_owner() -> LastOwnerError:
    return LastOwnerError(_("An organisation must keep at least one owner."))


def _check_tie(organisation: Organisation, role: str, client: Client | None) -> None:
    if role not in Role.values:
        raise ClientsError(_("Unknown role."))
    if client is None:
        return
    if role != Role.MEMBER:
        raise ClientsError(
            _("Only a member can be limited to one client; owners and admins see all.")
        )
    if client.organisation_id != organisation.pk:
        raise ClientsError(_("This client belongs to another organisation."))


@transaction.atomic
def add_member(
    *,
    organisation: Organisation,
    user: AbstractBaseUser,
    role: str = Role.MEMBER,
    client: Client | None = None,
) -> Membership:
    _check_tie(organisation, role, client)
    if Membership.objects.filter(organisation=organisation, user=user).exists():
        raise AlreadyMemberError(
            _("%(person)s is already a member of %(organisation)s.")
            % {"person": user.get_username(), "organisation": organisation}
        )
    membership = Membership(organisation=organisation, user=user, role=role, client=client)
    membership.full_clean()
    membership.save()
    return membership


def _lock_owners(organisation: Organisation) -> int:
    """Lock the owner rows so two concurrent demotions cannot both leave no owner."""
    owners = Membership.objects.select_for_update().filter(
        organisation=organisation, role=Role.OWNER
    )
    return len(list(owners))


@transaction.atomic
def change_member(*, membership: Membership, role: str, client: Client | None) -> Membership:
    """Change a person's role and the client they are tied to. Owners and admins see every
    client, so promoting a tied member clears the tie rather than refusing."""
    if role != Role.MEMBER:
        client = None
    _check_tie(membership.organisation, role, client)
    demotes_owner = membership.role == Role.OWNER and role != Role.OWNER
    if demotes_owner and _lock_owners(membership.organisation) <= 1:
        raise _last_owner()
    membership.role = role
    membership.client = client
    membership.full_clean()
    membership.save(update_fields=["role", "client"])
    return membership


def change_role(*, membership: Membership, role: str) -> Membership:
    """Change the role alone; a member keeps their tie, a promoted one loses it."""
    return change_member(membership=membership, role=role, client=membership.client)


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    """The person leaves; what they did stays in the ledger (entries keep their actor)."""
    if membership.role == Role.OWNER and _lock_owners(membership.organisation) <= 1:
        raise _last_owner()
    membership.delete()


hash_token = Invitation.hash_token


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def normalise_email(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
def record_invitation(
    *,
    organisation: Organisation,
    email: str,
    role: str,
    client: Client | None,
    invited_by: AbstractBaseUser | None,
    link_base: str,
    now: datetime,
) -> tuple[Invitation, str]:
    """Record an open invitation and answer it with the link's token (known only here).
    An expired open invitation to the same e-mail is cancelled to make room for this one."""
    email = normalise_email(email)
    _check_tie(organisation, role, client)
    if client is not None and not client.is_active:
        raise ClientsError(_("This client is inactive."))
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise AlreadyMemberError(
            _("%(email)s is already a member of %(organisation)s.")
            % {"email": email, "organisation": organisation}
        )
    open_ones = Invitation.objects.select_for_update().filter(
        organisation=organisation, email=email, accepted_at__isnull=True, cancelled_at__isnull=True
    )
    for invitation in open_ones:
        if invitation.expires_at > now:
            raise InvitationPendingError(
                _("%(email)s is already invited: send the invitation again or cancel it.")
                % {"email": email}
            )
        Invitation.objects.filter(pk=invitation.pk).update(cancelled_at=now)
    token, token_hash = _new_token()
    invitation = Invitation(
        organisation=organisation,
        email=email,
        role=role,
        client=client,
        token_hash=token_hash,
        link_base=link_base.rstrip("/"),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + INVITATION_VALID_FOR,
    )
    try:
        invitation.full_clean(exclude=["token_hash", "link_base"], validate_constraints=False)
    except ValidationError as error:
        raise ClientsError(" ".join(error.messages)) from None
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:  # the same e-mail invited at the same moment by someone else
        raise InvitationPendingError(
            _("%(email)s is already invited: send the invitation again or cancel it.")
            % {"email": email}
        ) from None
    return invitation, token


def invitation_link(invitation: Invitation, token: str) -> str:
    return invitation.link_base + reverse("invitation", kwargs={"token": token})


def _send(invitation: Invitation, token: str, attempt: int, now: datetime) -> Invitation:
    """Hand the e-mail to the mail server and record what it answered. Never inside a
    transaction: a mail server is outside the database (rules of the house)."""
    organisation = invitation.organisation
    with translation.override(organisation.language), timezone.override(organisation.time_zone):
        subject = _("You are invited to join %(organisation)s") % {"organisation": organisation}
        body = render_to_string(
            "clients/invitation_email.txt",
            {
                "invitation": invitation,
                "organisation": organisation,
                "inviter": invitation.invited_by,
                "link": invitation_link(invitation, token),
            },
        )
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[invitation.email]
    )
    this_attempt = Invitation.objects.filter(pk=invitation.pk, send_attempts=attempt)
    try:
        message.send()
    except Exception as error:  # any refusal of any mail backend is recorded
        logger.warning("invitation %s not sent: %r", invitation.pk, error)
        invitation.send_error = f"{type(error).__name__}: {error}"[:1000]
        this_attempt.update(send_error=invitation.send_error)
    else:
        invitation.sent_at = now
        this_attempt.update(sent_at=invitation.sent_at, send_error="")
    return invitation


def invite_member(
    *,
    organisation: Organisation,
    email: str,
    role: str,
    client: Client | None,
    invited_by: AbstractBaseUser | None,
    link_base: str,
    now: datetime,
) -> Invitation:
    """Record the invitation, commit, then e-mail the link (`link_base` is the scheme and host
    the owner is using, e.g. "https://portal.example"). Call it outside any transaction. The
    answer's `delivery` says whether the mail server took it; a failure keeps the invitation."""
    invitation, token = record_invitation(
        organisation=organisation,
        email=email,
        role=role,
        client=client,
        invited_by=invited_by,
        link_base=link_base,
        now=now,
    )
    return _deliver(invitation, token, now)


def _deliver(invitation: Invitation, token: str, now: datetime) -> Invitation:
    attempt = invitation.send_attempts + 1
    claimed = Invitation.objects.filter(
        pk=invitation.pk, send_attempts=invitation.send_attempts, token_hash=hash_token(token)
    ).update(send_attempts=attempt, last_attempt_at=now)
    if not claimed:
        return invitation  # someone else is sending it (a double click, the sweep)
    invitation.send_attempts, invitation.last_attempt_at = attempt, now
    return _send(invitation, token, attempt, now)


def send_invitation_again(*, invitation: Invitation, now: datetime) -> Invitation:
    """Send a fresh link, valid another INVITATION_VALID_FOR, to an open invitation (expired
    ones included: the owner renews them). The previous link stops working. Outside any
    transaction."""
    token, token_hash = _new_token()
    claimed = Invitation.objects.filter(
        pk=invitation.pk,
        send_attempts=invitation.send_attempts,
        accepted_at__isnull=True,
        cancelled_at__isnull=True,
    ).update(
        token_hash=token_hash,
        expires_at=now + INVITATION_VALID_FOR,
        send_attempts=invitation.send_attempts + 1,
        last_attempt_at=now,
        sent_at=None,
        send_error="",
    )
    invitation.refresh_from_db()
    if not claimed:
        if not invitation.is_open:
            raise _closed(invitation)
        return invitation  # another try started at the same moment
    return _send(invitation, token, invitation.send_attempts, now)


def retry_sending(*, invitation: Invitation, now: datetime) -> Invitation:
    """The sweep's retry: like "Send again", but never renews an expired invitation and leaves
    alone one that went out meanwhile (safe to run twice)."""
    if invitation.sent_at is not None or not invitation.is_open or invitation.expires_at <= now:
        return invitation
    token, token_hash = _new_token()
    claimed = Invitation.objects.filter(
        pk=invitation.pk, send_attempts=invitation.send_attempts, sent_at__isnull=True
    ).update(
        token_hash=token_hash,
        send_attempts=invitation.send_attempts + 1,
        last_attempt_at=now,
        send_error="",
    )
    if not claimed:
        return invitation
    invitation.refresh_from_db()
    return _send(invitation, token, invitation.send_attempts, now)


def _closed(invitation: Invitation) -> InvitationClosedError:
    if invitation.accepted_at is not None:
        return InvitationClosedError(_("This invitation has already been used."), "used")
    if invitation.cancelled_at is not None:
        return InvitationClosedError(_("This invitation was cancelled."), "cancelled")
    return InvitationClosedError(_("This invitation has expired."), "expired")


@transaction.atomic
def cancel_invitation(*, invitation: Invitation, now: datetime) -> Invitation:
    cancelled = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now)
    if not cancelled:
        invitation.refresh_from_db()
        raise _closed(invitation)
    invitation.cancelled_at = now
    return invitation


def _claim(token: str, user: AbstractBaseUser, now: datetime) -> Invitation:
    """Mark the invitation used by `user`, once: of two submissions only one claims it."""
    invitation = (
        Invitation.objects.select_related("organisation", "client")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationClosedError(_("This invitation does not exist."), "unknown")
    if not invitation.is_open or invitation.expires_at <= now:
        raise _closed(invitation)
    claimed = Invitation.objects.filter(
        pk=invitation.pk,
        accepted_at__isnull=True,
        cancelled_at__isnull=True,
        expires_at__gt=now,
    ).update(accepted_at=now, accepted_by=user)
    if not claimed:
        invitation.refresh_from_db()
        raise _closed(invitation)
    invitation.accepted_at, invitation.accepted_by = now, user
    return invitation


def _join(invitation: Invitation, user: AbstractBaseUser) -> Membership:
    client = invitation.client if invitation.role == Role.MEMBER else None
    return add_member(
        organisation=invitation.organisation, user=user, role=invitation.role, client=client
    )


@transaction.atomic
def accept_invitation(*, token: str, user: AbstractBaseUser, now: datetime) -> Membership:
    """An existing account accepts: the one whose e-mail was invited, when that e-mail has an
    account (otherwise a forwarded link would let anyone logged in take the place)."""
    invitation = Invitation.objects.filter(token_hash=hash_token(token)).first()
    if (
        invitation is not None
        and email_has_account(invitation.email)
        and normalise_email(user.email or "") != invitation.email
    ):
        raise WrongPersonError(
            _("This invitation is for %(email)s: log in with the account of that e-mail.")
            % {"email": invitation.email}
        )
    invitation = _claim(token, user, now)
    return _join(invitation, user)


def accept_invitation_as_new_user(
    *, token: str, username: str, password: str, now: datetime
) -> Membership:
    """Create the invited person's account (its e-mail is the invited one) and membership
    together: if either is refused, neither exists."""
    invitation = Invitation.objects.filter(token_hash=hash_token(token)).first()
    if invitation is None:
        raise InvitationClosedError(_("This invitation does not exist."), "unknown")
    if not invitation.is_open or invitation.expires_at <= now:
        raise _closed(invitation)
    if email_has_account(invitation.email):
        # The account may be the one a concurrent submission of this link just created with
        # its membership (one transaction): then this one lost the race for a used link.
        invitation.refresh_from_db()
        if not invitation.is_open:
            raise _closed(invitation)
        raise WrongPersonError(
            _("%(email)s already has an account: log in to accept.") % {"email": invitation.email}
        )
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=username, email=invitation.email, password=password
            )
            invitation = _claim(token, user, now)
            return _join(invitation, user)
    except IntegrityError:
        raise UsernameTakenError(_("This username is taken: choose another one.")) from None
