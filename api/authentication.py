"""API keys in `Authorization: Bearer <key>` (K4)."""

import hmac

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api import services
from api.models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """The key names its organisation; the request then acts as that organisation (and,
    for a key tied to a client, as that client only). `request.user` stays anonymous: a
    key is not a person, and the key's creator is recorded as the actor of what it writes."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _space, secret = header.partition(" ")
        if keyword != self.keyword or not secret.strip():
            raise exceptions.AuthenticationFailed(
                _("Send the API key as “Authorization: Bearer <key>”.")
            )
        return AnonymousUser(), self._key(secret.strip())

    def _key(self, secret: str) -> ApiKey:
        key = (
            ApiKey.objects.select_related("organisation", "client", "created_by")
            .filter(prefix=services.prefix_of(secret))
            .first()
        )
        if key is None or not hmac.compare_digest(key.secret_hash, services.hash_secret(secret)):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        if not key.is_active:
            raise exceptions.AuthenticationFailed(_("This API key was revoked."))
        services.record_use(key=key, now=timezone.now())
        return key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API key created by an owner under Developers → API keys, sent as "
                "`Authorization: Bearer cpk_…`."
            ),
        }
