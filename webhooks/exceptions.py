"""Refusals of the webhooks app, shown to the owner as they are (X6): nothing changed."""

from config.errors import DomainError


class WebhookError(DomainError):
    """Base of every refusal raised by `webhooks.services`. `field` names the form field the
    message belongs to, when it is about one."""

    code = "webhook_refused"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.field = field


class UnsafeAddress(WebhookError):
    """The URL is not http(s), or its host is (or resolves to) a private, loopback or
    link-local address: the portal does not POST into its own network."""

    code = "webhook_address_refused"
