"""API keys and remembered API requests (K4).

A key is shown once, when it is created; only its SHA-256 is stored, beside a short public
prefix by which people recognise it in lists and logs. SHA-256 rather than a slow password
hash: the secret is 32 random bytes, so nobody can guess it, and every API request checks it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Organisation


class Scope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiKey(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(_("scope"), max_length=5, choices=Scope.choices, default=Scope.READ)
    # A key tied to one client acts for that client only (B7): a reseller's own software.
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_keys",
    )
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=settings.API_DEFAULT_REQUESTS_PER_MINUTE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(requests_per_minute__gte=1) & Q(requests_per_minute__lte=1_000_000),
                name="api_key_rate_in_range",
                violation_error_message=_("Requests per minute go from 1 to 1,000,000."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.WRITE


class RequestState(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class IdempotentRequest(models.Model):
    """A POST made with an `Idempotency-Key`, and the answer it got, so that the same key
    and body get the same answer again (kept at least `API_IDEMPOTENCY_HOURS`).

    Recorded and committed before the request runs, so that a second request with the key
    sees it running; a request that dies before answering leaves it running until its lease
    (`API_IDEMPOTENCY_LEASE`) ends, after which the key can be retried."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", verbose_name=_("organisation")
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("body fingerprint"), max_length=64)
    state = models.CharField(_("state"), max_length=8, choices=RequestState.choices)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    body = models.BinaryField(_("answer"), default=b"")
    created_at = models.DateTimeField(_("created at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("remembered API request")
        verbose_name_plural = _("remembered API requests")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "key"],
                name="api_request_key_unique_in_organisation",
                violation_error_message=_(
                    "This idempotency key was already used in this organisation."
                ),
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="api_request_created")]

    def __str__(self) -> str:
        return self.key
