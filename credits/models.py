"""The credit ledger's stored figures.

Only `credits.services` writes these rows (rules of the house); database CHECK constraints
refuse any negative figure as the last line of defence (X2).
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Organisation


class CreditPool(models.Model):
    """An organisation's one pool: balance = sum of its lots' remaining credits."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, primary_key=True, related_name="pool"
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    held = models.BigIntegerField(_("held"), default=0)
    assigned = models.BigIntegerField(_("assigned"), default=0)

    class Meta:
        verbose_name = _("credit pool")
        verbose_name_plural = _("credit pools")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="pool_balance_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="pool_held_not_negative"),
            models.CheckConstraint(condition=Q(assigned__gte=0), name="pool_assigned_not_negative"),
            models.CheckConstraint(
                condition=Q(balance__gte=F("held") + F("assigned")),
                name="pool_commitments_within_balance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.balance}"

    @property
    def unassigned(self) -> int:
        return max(self.balance - self.held - self.assigned, 0)


class ClientAccount(models.Model):
    """A client's own figures: credits assigned to it and not yet spent or expired."""

    client = models.OneToOneField(
        Client, on_delete=models.PROTECT, primary_key=True, related_name="account"
    )
    assigned_remaining = models.BigIntegerField(_("assigned remaining"), default=0)

    class Meta:
        verbose_name = _("client credit account")
        verbose_name_plural = _("client credit accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(assigned_remaining__gte=0), name="client_assigned_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.assigned_remaining}"
