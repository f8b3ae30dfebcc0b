"""Reads shared by pages, admin and the API, always scoped to what a person may see (X5)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from clients.models import Client, Invitation, Membership, Organisation, Role
from clients.roles import Permission, permissions_of


def memberships_of(user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organisation", "client")


def membership_in(user: AbstractBaseUser, slug: str) -> Membership | None:
    """The user's membership in the organisation with this slug, or None when they have none
    (callers answer 404, so another organisation's slug reveals nothing, X5)."""
    if not user.is_authenticated:
        return None
    return memberships_of(user).filter(organisation__slug=slug).first()


def clients_of(organisation: Organisation) -> QuerySet[Client]:
    """The own client first (G1), then the others by name."""
    own_first = Case(When(kind="own", then=Value(0)), default=Value(1), output_field=IntegerField())
    return Client.objects.filter(organisation=organisation).order_by(own_first, "name")


def client_in(organisation: Organisation, client_id: int) -> Client | None:
    return clients_of(organisation).filter(pk=client_id).first()


def visible_clients(membership: Membership) -> QuerySet[Client]:
    """The clients a person may see and spend for: all of the organisation's, or the one
    client a member is tied to (clients.roles). Every page that takes a client goes through
    here, so another client's id is a 404 for a tied member (X5)."""
    clients = clients_of(membership.organisation)
    if membership.client_id is not None:
        clients = clients.filter(pk=membership.client_id)
    return clients


def visible_client(membership: Membership, client_id: int) -> Client | None:
    return visible_clients(membership).filter(pk=client_id).first()


_OWNERS_FIRST = Case(
    When(role=Role.OWNER, then=Value(0)),
    When(role=Role.ADMIN, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def members_of(organisation: Organisation) -> QuerySet[Membership]:
    """Owners, then admins, then members, each by username."""
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user", "client")
        .order_by(_OWNERS_FIRST, "user__username")
    )


def member_in(organisation: Organisation, membership_id: int) -> Membership | None:
    return members_of(organisation).filter(pk=membership_id).first()


def may_see_emails(viewer: Membership) -> bool:
    """Owners and admins see their colleagues' e-mail addresses; plain members do not (D4)."""
    return viewer.role in (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True)
class MemberRow:
    membership_id: int
    name: str
    username: str
    email: str | None  # None when the viewer may not see it
    role: str
    role_label: str
    client_name: str | None
    since: datetime
    is_viewer: bool


@dataclass(frozen=True)
class RoleExplanation:
    role: str
    label: str
    may: list[str]  # what the role may do, in words (clients.roles)


@dataclass(frozen=True)
class MembersPage:
    members: list[MemberRow]
    invitations: list[Invitation]  # open ones, for those who manage members; else empty
    roles: list[RoleExplanation]
    shows_emails: bool
    manages: bool  # the viewer may invite, change and remove members


def role_explanations() -> list[RoleExplanation]:
    """The role matrix in words, owners first, each permission in the matrix's order."""
    return [
        RoleExplanation(
            role=role,
            label=label,
            may=[str(name) for value, name in Permission.choices if value in permissions_of(role)],
        )
        for role, label in Role.choices
    ]


def open_invitations(organisation: Organisation, now: datetime) -> QuerySet[Invitation]:
    """Invitations neither accepted nor cancelled, newest first; `is_expired` says whether the
    link still works."""
    return (
        Invitation.objects.filter(
            organisation=organisation, accepted_at__isnull=True, cancelled_at__isnull=True
        )
        .select_related("client", "invited_by")
        .annotate(is_expired=ExpressionWrapper(Q(expires_at__lte=now), output_field=BooleanField()))
        .order_by("-created_at", "-pk")
    )


def members_page(viewer: Membership, now: datetime) -> MembersPage:
    """Everything the member list shows to this viewer, e-mails only where their role allows."""
    shows_emails = may_see_emails(viewer)
    members = [
        MemberRow(
            membership_id=membership.pk,
            name=membership.user.get_full_name() or membership.user.get_username(),
            username=membership.user.get_username(),
            email=(membership.user.email or "") if shows_emails else None,
            role=membership.role,
            role_label=membership.get_role_display(),
            client_name=membership.client.name if membership.client_id else None,
            since=membership.created_at,
            is_viewer=membership.pk == viewer.pk,
        )
        for membership in members_of(viewer.organisation)
    ]
    manages = Permission.MANAGE_MEMBERS in viewer.permissions
    return MembersPage(
        members=members,
        invitations=list(open_invitations(viewer.organisation, now)) if manages else [],
        roles=role_explanations(),
        shows_emails=shows_emails,
        manages=manages,
    )


def tie_choices(organisation: Organisation, current: Client | None = None) -> QuerySet[Client]:
    """The clients a member may be tied to: the active ones, and the one they are tied to."""
    active = Q(is_active=True)
    if current is not None:
        active |= Q(pk=current.pk)
    return clients_of(organisation).filter(active)


# The sweep retries an unsent invitation this many times; "Send again" is not limited.
SWEEP_MAX_ATTEMPTS = 5
# A try that neither succeeded nor failed after this long was lost (a worker died half-way).
SENDING_LOST_AFTER = timedelta(minutes=10)


def invitations_to_retry(now: datetime) -> list[int]:
    """Open, unexpired invitations whose e-mail failed or whose try was lost, and that the
    sweep may still retry (clients.tasks)."""
    return list(
        Invitation.objects.filter(
            sent_at__isnull=True,
            accepted_at__isnull=True,
            cancelled_at__isnull=True,
            expires_at__gt=now,
            send_attempts__lt=SWEEP_MAX_ATTEMPTS,
        )
        .filter(
            Q(send_error__gt="")
            | Q(last_attempt_at__isnull=True)
            | Q(last_attempt_at__lt=now - SENDING_LOST_AFTER)
        )
        .values_list("pk", flat=True)
    )


def invitation_in(organisation: Organisation, invitation_id: int) -> Invitation | None:
    return (
        Invitation.objects.filter(organisation=organisation, pk=invitation_id)
        .select_related("client", "organisation")
        .first()
    )


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a link leads to (only the token's hash is stored), or None."""
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.filter(token_hash=Invitation.hash_token(token))
        .select_related("organisation", "client", "invited_by")
        .first()
    )


def email_has_account(email: str) -> bool:
    """Whether someone already has an account with this e-mail (then they log in to accept)."""
    return get_user_model().objects.filter(email__iexact=email.strip()).exists()


class AcceptState(models.TextChoices):
    """What the invitation page offers a visitor."""

    UNKNOWN = "unknown"  # no such link: 404
    USED = "used"  # 410 from here to EXPIRED
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    JOINED = "joined"  # this visitor accepted it already (a second click): go to the organisation
    LOG_IN = "log_in"  # the e-mail has an account: log in first
    WRONG_PERSON = "wrong_person"  # logged in, but the e-mail belongs to another account
    ALREADY_MEMBER = "already_member"  # logged in and already in the organisation
    ACCEPT = "accept"  # logged in: one click
    SIGN_UP = "sign_up"  # no account: choose a username and a password


def accept_state(invitation: Invitation | None, user: AbstractBaseUser, now: datetime) -> str:
    if invitation is None:
        return AcceptState.UNKNOWN
    if invitation.accepted_at is not None:
        if user.is_authenticated and invitation.accepted_by_id == user.pk:
            return AcceptState.JOINED
        return AcceptState.USED
    if invitation.cancelled_at is not None:
        return AcceptState.CANCELLED
    if invitation.expires_at <= now:
        return AcceptState.EXPIRED
    has_account = email_has_account(invitation.email)
    if not user.is_authenticated:
        return AcceptState.LOG_IN if has_account else AcceptState.SIGN_UP
    if has_account and (user.email or "").strip().lower() != invitation.email:
        return AcceptState.WRONG_PERSON
    if Membership.objects.filter(organisation_id=invitation.organisation_id, user=user).exists():
        return AcceptState.ALREADY_MEMBER
    return AcceptState.ACCEPT
