"""The credit ledger.

Stored figures (pool, client accounts, lots) are what pages read; ledger entries are the
immutable record from which every figure can be recomputed (`manage.py ledger_check`).
Only `credits.services` writes any of these rows (rules of the house); CHECK constraints and
triggers (credits/sql/, one file per rule) are the last line of defence (X1, X2).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Organisation
from credits.bounds import MAX_CREDITS
from credits.models.fields import (
    CreditCountField,
    DaysField,
    MonthsField,
    PositiveCreditCountField,
)
from credits.models.spending import Consumption, Hold


class ExpiryKind(models.TextChoices):
    NEVER = "never", _("Never")
    AFTER_PURCHASE = "after_purchase", _("N months after purchase")
    INACTIVITY = "inactivity", _("After N months without use")


class Preset(models.TextChoices):
    """Policies of the five seed systems; rate cards come with the rate-card work."""

    CUSTOM = "custom", _("Custom")
    DATA_PROVIDER = "data_provider", _("Data provider (Corporama)")
    TRANSLATION = "translation", _("Translation service (Deepetch)")
    SMS = "sms", _("SMS platform")
    CRM = "crm", _("CRM (ClientManager)")
    SERIOUS_GAME = "serious_game", _("Serious-game studio")


class CreditPool(models.Model):
    """An organisation's one pool and its policies.

    balance = sum of the lots' remaining credits; held = credits reserved by active holds;
    assigned = credits assigned to clients and not yet spent or expired. Every figure is
    changed only together with ledger entries that add up to it.
    """

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, primary_key=True, related_name="pool"
    )
    balance = CreditCountField(_("balance"), default=0)
    held = CreditCountField(_("held"), default=0)
    assigned = CreditCountField(_("assigned"), default=0)
    last_activity_at = models.DateTimeField(_("last use"), null=True, blank=True)
    next_expiry_at = models.DateTimeField(
        _("next expiry due"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("No lot or hold expires before this time; operations skip expiry until then."),
    )
    # Set anew by database triggers at every change of the organisation's rate card
    # (credits/sql/rate_card_version.*.sql): the per-process rate-card caches and the debit
    # compare it (credits/ratecards.py).
    # Not a figure: no ledger entry follows it and ledger_check ignores it.
    rate_card_version = models.BigIntegerField(default=0, editable=False)

    preset = models.CharField(_("preset"), max_length=20, choices=Preset.choices, default="custom")
    expiry_kind = models.CharField(
        _("expiry"), max_length=20, choices=ExpiryKind.choices, default=ExpiryKind.NEVER
    )
    # Kept whatever the kind, so that switching back to an expiring kind finds it; read only
    # by the kinds that expire. Never empty, so no rule has to join it to the kind.
    expiry_months = MonthsField(
        _("expiry months"),
        default=12,
        help_text=_("For expiry after purchase or after months without use."),
    )
    purchase_extends_expiry = models.BooleanField(
        _("a purchase extends the expiry of credits held"), default=False
    )
    assignments_reversible = models.BooleanField(
        _("assigned credits may be taken back"), default=True
    )
    clients_draw_from_pool = models.BooleanField(
        _("clients may draw from the unassigned pool"), default=True
    )
    # Expiry reminders go at two lead times (D3): `reminder_days` (the first, and the home
    # page's "expiring soon" window) and `second_reminder_days` (a closer one; 0: none). The
    # lead times are the set of the two non-zero values (credits.services.alerts).
    reminder_days = DaysField(_("expiry reminder (days before)"), default=30)
    second_reminder_days = DaysField(
        _("second expiry reminder (days before)"),
        default=7,
        help_text=_("0: no second reminder."),
    )
    low_balance_threshold = CreditCountField(
        _("low-balance alert below"), default=0, validators=[MaxValueValidator(MAX_CREDITS)]
    )

    class Meta:
        verbose_name = _("credit pool")
        verbose_name_plural = _("credit pools")
        indexes = [
            # The expiry job reads the pools whose next expiry has come, and those on an
            # inactivity policy; a debit changes neither column, so its UPDATE stays HOT.
            models.Index(
                fields=["next_expiry_at"],
                condition=Q(next_expiry_at__isnull=False),
                name="pool_by_next_expiry",
            ),
            models.Index(
                fields=["expiry_months"],
                condition=Q(expiry_kind="inactivity"),
                name="pool_on_inactivity",
            ),
        ]
        constraints = [
            # Each figure is never negative (its field); together they never promise more
            # than the balance holds.
            models.CheckConstraint(
                condition=Q(balance__gte=F("held") + F("assigned")),
                name="pool_commitments_within_balance",
                violation_error_message=_(
                    "The credits held and assigned cannot exceed the pool's balance."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.balance}"

    @property
    def unassigned(self) -> int:
        return max(self.balance - self.held - self.assigned, 0)

    @property
    def reminder_lead_days(self) -> tuple[int, ...]:
        """The expiry reminders' lead times, longest first (0 turns one off)."""
        return tuple(sorted({self.reminder_days, self.second_reminder_days} - {0}, reverse=True))


class LimitKind(models.TextChoices):
    NONE = "none", _("No limit")
    MONTHLY = "monthly", _("Monthly")
    FIXED = "fixed", _("Fixed")


class ClientAccount(models.Model):
    """A client's figures: credits assigned to it, and what it drew from the pool against its
    spending limit in the current window (D4, S5).

    `used` exists for the limit: under a limit it counts what the client drew from the pool in
    the window, active holds included; a client without a limit has no window and counts
    nothing (0), and a limit set later starts from what its active holds reserve. So a debit
    by a client with neither a limit nor assigned credits leaves this row alone."""

    client = models.OneToOneField(
        Client, on_delete=models.PROTECT, primary_key=True, related_name="account"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="client_accounts"
    )
    assigned_remaining = CreditCountField(_("assigned remaining"), default=0)
    draws_from_pool = models.BooleanField(_("may draw from the pool"), default=True)
    limit_kind = models.CharField(
        _("spending limit"), max_length=10, choices=LimitKind.choices, default=LimitKind.NONE
    )
    limit = CreditCountField(
        _("limit (credits)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_CREDITS)],
        help_text=_("What the client may draw from the pool in the window; empty without a limit."),
    )
    used = CreditCountField(_("used in the window"), default=0)
    window_start = models.DateTimeField(_("window start"), null=True, blank=True)

    class Meta:
        verbose_name = _("client credit account")
        verbose_name_plural = _("client credit accounts")
        indexes = [
            # The monthly job reads only the windows that started before this month. A debit
            # changes `used`, never indexed, so its UPDATE stays a HOT update.
            models.Index(
                fields=["window_start", "client"],
                condition=Q(limit_kind="monthly"),
                name="account_monthly_by_window",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(limit_kind="none", limit__isnull=True)
                | (~Q(limit_kind="none") & Q(limit__isnull=False)),
                name="client_limit_matches_kind",
                violation_error_message=_(
                    "A monthly or fixed spending limit needs its number of credits; "
                    "“No limit” needs none."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.assigned_remaining}"

    @property
    def counts_use(self) -> bool:
        return self.limit_kind != LimitKind.NONE

    def use(self, from_pool: int) -> int:
        """What drawing `from_pool` credits from the pool adds to `used` (0 without a limit)."""
        return from_pool if self.counts_use else 0

    @property
    def limit_left(self) -> int | None:
        if self.limit_kind == LimitKind.NONE:
            return None
        return max(self.limit - self.used, 0)


class LotSource(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    PLAN_ALLOWANCE = "plan_allowance", _("Plan allowance")
    PROMOTION = "promotion", _("Promotion")
    ADJUSTMENT = "adjustment", _("Adjustment")


class Lot(models.Model):
    """A block of credits from one source, with its own expiry or none."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="lots")
    source = models.CharField(_("source"), max_length=20, choices=LotSource.choices)
    quantity = PositiveCreditCountField(_("quantity"))
    remaining = CreditCountField(_("remaining"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    unit_cost = models.DecimalField(
        _("unit cost"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    # Computed by the database. The index of spendable lots is limited to live lots through
    # this column rather than through `remaining > 0`: a debit changes `remaining` but not
    # `live` (until the lot runs out), so its UPDATE stays a HOT update that touches no index.
    # With `remaining` in the index predicate, every debit added index entries and one busy
    # lot bloated its indexes.
    live = models.GeneratedField(
        expression=Q(remaining__gt=0), output_field=models.BooleanField(), db_persist=True
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        indexes = [
            # The spending order (soonest expiry first, never-expiring last, oldest on ties).
            models.Index(
                fields=["organisation", "expires_at", "created_at", "id"],
                condition=Q(live=True),
                name="lot_live_spending_order",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__lte=F("quantity")),
                name="lot_remaining_within_quantity",
                violation_error_message=_("A lot cannot have more credits left than it received."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk}: {self.remaining}/{self.quantity}"


class AssignmentKind(models.TextChoices):
    ASSIGN = "assign", _("Assigned")
    UNASSIGN = "unassign", _("Taken back")


class Assignment(models.Model):
    """Credits moved between the unassigned pool and a client, with why (G3)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="assignments"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="assignments")
    kind = models.CharField(_("kind"), max_length=10, choices=AssignmentKind.choices)
    credits = PositiveCreditCountField(_("credits"))
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("person"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.credits} → {self.client}"


class EntryKind(models.TextChoices):
    GRANT = "grant", _("Credits added")
    DEBIT = "debit", _("Consumption")
    HOLD = "hold", _("Hold placed")
    CAPTURE = "capture", _("Hold captured")
    RELEASE = "release", _("Hold released")
    HOLD_EXPIRY = "hold_expiry", _("Hold expired")
    ASSIGN = "assign", _("Assigned")
    UNASSIGN = "unassign", _("Taken back")
    EXPIRY = "expiry", _("Credits expired")
    EXTENSION = "extension", _("Expiry extended")
    LIMIT_RESET = "limit_reset", _("Spending limit reset")
    ADJUSTMENT = "adjustment", _("Adjustment")
    REVOCATION = "revocation", _("Purchase cancelled")


# Every kind of entry but the ones each debit writes (see LedgerEntry's indexes).
RARE_KINDS = [kind for kind in EntryKind.values if kind not in (EntryKind.DEBIT, EntryKind.CAPTURE)]


class LedgerEntry(models.Model):
    """One immutable change. Summed per organisation (and per client, per lot) the deltas give
    every stored figure: balance, held, assigned, a client's assigned and used credits, a lot's
    remaining credits."""

    # As for consumptions: the (organisation|client, -created_at) indexes serve those foreign
    # keys, the links most entries leave empty are indexed only where set, and the links a
    # debit writes (organisation, client, lot, consumption) carry no database constraint;
    # ledger_check proves them instead (see Consumption).
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    credits = models.BigIntegerField(_("credits"), default=0)
    held_delta = models.BigIntegerField(_("held change"), default=0)
    assigned_delta = models.BigIntegerField(_("assigned change"), default=0)
    used_delta = models.BigIntegerField(_("limit use change"), default=0)
    balance_after = CreditCountField(_("balance after"))
    lot = models.ForeignKey(
        Lot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        db_constraint=False,
    )
    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        db_index=False,
        db_constraint=False,
    )
    consumption = models.ForeignKey(
        Consumption,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        db_constraint=False,
        verbose_name=_("consumption"),
    )
    hold = models.ForeignKey(
        Hold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        db_index=False,
        verbose_name=_("hold"),
    )
    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        db_index=False,
        verbose_name=_("assignment"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("person"),
    )
    reference = models.CharField(_("reference"), max_length=300, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="entry_org_recent"),
            models.Index(fields=["client", "-created_at"], name="entry_client_recent"),
            models.Index(fields=["hold"], condition=Q(hold__isnull=False), name="entry_hold"),
            models.Index(
                fields=["assignment"],
                condition=Q(assignment__isnull=False),
                name="entry_assignment",
            ),
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="entry_actor"),
            # The activity filtered on a rare kind (purchases, expiries, assignments...) reads
            # these few entries instead of walking past every debit. Debits and captures are
            # outside its condition, so they write nothing to it. (A list of the kinds it
            # holds rather than "not a debit": PostgreSQL proves a query's `kind IN (...)`
            # lies inside a list, not inside a negation.)
            models.Index(
                fields=["organisation", "-created_at"],
                condition=Q(kind__in=RARE_KINDS),
                name="entry_org_rare_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.credits:+d}"
