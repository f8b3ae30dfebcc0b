"""The first result of each retryable write, by idempotency key (X3)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from clients.models import Organisation


class IdempotencyKey(models.Model):
    """The first result of a retryable write (X3): the same key with the same input returns it;
    with another input the write is refused."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    key = models.CharField(max_length=200)
    operation = models.CharField(max_length=40)
    fingerprint = models.CharField(max_length=64)
    result_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "key"],
                name="idempotency_key_unique_per_organisation",
                violation_error_message=_(
                    "This idempotency key was already used in the organisation."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.operation}:{self.key}"
