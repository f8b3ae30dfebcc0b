"""Who pays (organisations), who acts for them (memberships) and who spends (clients)."""

import hashlib
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CURRENCIES = [("EUR", "EUR"), ("USD", "USD"), ("GBP", "GBP"), ("CHF", "CHF"), ("CAD", "CAD")]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class ClientKind(models.TextChoices):
    OWN = "own", _("Own client")
    SUB_ACCOUNT = "sub_account", _("Sub-account")
    LIST = "list", _("List")
    CUSTOMER = "customer", _("Customer")
    TEAM = "team", _("Team")
    DEPARTMENT = "department", _("Department")


# The kinds an organisation may give its clients (the own client is created with it).
CREATABLE_KINDS = [(value, label) for value, label in ClientKind.choices if value != "own"]


class Organisation(models.Model):
    """The paying account: one credit pool, its members, its clients."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default="EUR")
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_time_zone]
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    # How the organisation's own customers call the units that spend its credits (a list, a
    # sub-account, a client...): pages, menus and forms use its words (clients.vocabulary).
    client_kind = models.CharField(
        _("kind of client"),
        max_length=12,
        choices=CREATABLE_KINDS,
        default=ClientKind.CUSTOMER,
        help_text=_("Names the pages and menus, and is the default kind of new clients."),
    )
    clients_choose_access = models.BooleanField(
        _("clients reach games through the Campus or SCORM"),
        default=False,
        help_text=_("Shows the Campus / SCORM setting of each client (serious games, G7)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class Membership(models.Model):
    """A person's place in an organisation; the role decides what they may see and do."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("person"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    # A member tied to one client sees and spends only for it (clients.roles); owners and
    # admins are never tied.
    client = models.ForeignKey(
        "Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tied_members",
        verbose_name=_("only for the client"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "user__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                name="membership_one_per_user_and_organisation",
                violation_error_message=_("This person is already a member of the organisation."),
            ),
            models.CheckConstraint(
                condition=Q(client__isnull=True) | Q(role="member"),
                name="membership_only_members_are_tied",
                violation_error_message=_(
                    "Only a member can be limited to one client; owners and admins see all."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} ({self.get_role_display()})"

    @property
    def permissions(self) -> frozenset[str]:
        """What this role may do (the matrix is in clients.roles)."""
        from clients.roles import permissions_of

        return permissions_of(self.role)


class AccessMode(models.TextChoices):
    CAMPUS = "campus", _("Campus")
    SCORM = "scorm", _("SCORM")


class Client(models.Model):
    """A unit of an organisation that spends credits (G1, G7)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="clients",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=12, choices=ClientKind.choices, default=ClientKind.CUSTOMER
    )
    access_mode = models.CharField(
        _("access mode"), max_length=8, choices=AccessMode.choices, default=AccessMode.CAMPUS
    )
    # The organisation's own software's id for the client (K4), so that it finds the client
    # again without keeping ours; unique in the organisation when given.
    external_id = models.CharField(
        _("external ID"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Your own software's id for this client; unique in the organisation."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "name"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(kind="own"),
                name="client_one_own_client_per_organisation",
                violation_error_message=_(
                    "The organisation already has its own client: it is created with it."
                ),
            ),
            models.UniqueConstraint(
                fields=["organisation", "name"],
                name="client_name_unique_in_organisation",
                violation_error_message=_("This name is already used in this organisation."),
            ),
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                condition=~Q(external_id=""),
                name="client_external_id_unique_in_organisation",
                violation_error_message=_(
                    "This external ID is already used by another client of this organisation."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """An owner's offer of a place in the organisation, sent by e-mail (D4).

    The link carries a random token of which only a hash is stored, so a copy of the database
    cannot be used to join. An invitation is open until it is accepted, cancelled or expired;
    one open invitation per e-mail and organisation. Delivery is recorded after the mail server
    answered: `sent_at` once it accepted the message, `send_error` when it refused or could
    not be reached (a retry sends a fresh link)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("organisation"),
    )
    email = models.EmailField(_("e-mail"))  # stored in lower case (clients.services.members)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    client = models.ForeignKey(
        "Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("only for the client"),
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    # Scheme and host the invitation was made from: links sent again point to the same site.
    link_base = models.CharField(_("link base"), max_length=200, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    send_attempts = models.PositiveIntegerField(_("send attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    send_error = models.TextField(_("sending error"), blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="invitation_one_open_per_email_and_organisation",
                violation_error_message=_(
                    "This e-mail is already invited: send the invitation again or cancel it."
                ),
            ),
            models.CheckConstraint(
                condition=Q(client__isnull=True) | Q(role="member"),
                name="invitation_only_members_are_tied",
                violation_error_message=_(
                    "Only a member can be limited to one client; owners and admins see all."
                ),
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(cancelled_at__isnull=True),
                name="invitation_not_both_accepted_and_cancelled",
                violation_error_message=_(
                    "An invitation is either accepted or cancelled, not both."
                ),
            ),
        ]
        indexes = [
            # The sweep's question: open invitations whose mail has not gone out.
            models.Index(
                fields=["expires_at"],
                condition=Q(
                    sent_at__isnull=True, accepted_at__isnull=True, cancelled_at__isnull=True
                ),
                name="invitation_unsent_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} · {self.organisation}"

    @staticmethod
    def hash_token(token: str) -> str:
        """What is stored of a link's token: enough to find the invitation, not to forge it."""
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_open(self) -> bool:
        """Neither accepted nor cancelled (it may still have expired: compare `expires_at`)."""
        return self.accepted_at is None and self.cancelled_at is None

    @property
    def delivery(self) -> str:
        """ "sent", "failed" or "pending" (never tried, or a try under way or lost)."""
        if self.sent_at is not None:
            return "sent"
        return "failed" if self.send_error else "pending"
