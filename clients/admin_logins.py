"""Login protection in the back office (django-axes).

Axes registers its own admin for the access attempts (the failures counted per username and
address, hence the lock-outs), the failure log and the access log. We register subclasses
that inherit `PortalAdmin`, and add "Unlock" to the attempts: it lifts the lock-out of the
selected (username, address) pairs at once (`clients.services.logins.unlock`), for a person
who proved who they are by other means. Unlocking forgets attempts, so it requires
`axes.delete_accessattempt` (docs/production.md).
"""

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clients.services import logins
from config.admin_base import PortalAdmin

UNLOCK_PERMISSION = "axes.delete_accessattempt"


class AccessAttemptAdmin(PortalAdmin, axes_admin.AccessAttemptAdmin):
    """One row per (username, address, browser) that failed, with its count: a pair at
    AXES_FAILURE_LIMIT is locked out ("Status")."""

    actions = ["unlock", "cleanup_expired_attempts"]

    @admin.action(description=_("Unlock the selected logins"), permissions=["unlock"])
    def unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Unlocks each selected (username, address) pair whole, whatever browser its other
        attempts came from: axes counts them together."""
        pairs = set(queryset.values_list("username", "ip_address"))
        logins.unlock(logins=pairs, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "Unlocked %(count)d login (username and address): it can log in at once.",
                "Unlocked %(count)d logins (username and address): they can log in at once.",
                len(pairs),
            )
            % {"count": len(pairs)},
            messages.SUCCESS,
        )

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        """Its own check, not `has_delete_permission`, so that the rule reads where the
        action is; unlocking forgets attempts, hence the delete permission."""
        return request.user.has_perm(UNLOCK_PERMISSION)

    @admin.action(
        description=_("Forget the attempts older than the lock-out time"),
        permissions=["unlock"],
    )
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Axes' own action, with its permission and a translated message."""
        count = logins.forget_expired_attempts(now=timezone.now())
        self.message_user(
            request,
            ngettext(
                "Forgot %(count)d expired access attempt.",
                "Forgot %(count)d expired access attempts.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


class AccessFailureLogAdmin(PortalAdmin, axes_admin.AccessFailureLogAdmin):
    """Every failure, kept after an unlock (when AXES_ENABLE_ACCESS_FAILURE_LOG is on): read
    only; the lock-outs themselves are the access attempts."""


class AccessLogAdmin(PortalAdmin, axes_admin.AccessLogAdmin):
    """Successful logins and logouts: read, nothing to act on."""


for model, model_admin in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
    (AccessLog, AccessLogAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
