"""API keys in `Authorization: Bearer <key>` (K4)."""

import hmac

from django.contrib.auth.models import AnonymousUser
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api import keycache, services
from api.models import ApiKey
from clients.models import Client, ClientKind

OWN = Client.objects.filter(organisation_id=OuterRef("organisation_id"), kind=ClientKind.OWN)


def keys_with_own_client() -> QuerySet[ApiKey]:
    """Keys with their organisation, tied client, creator and the organisation's own client
    (where a key's requests spend by default), in the one query that authenticates a request:
    a second query per request for the own client cost a tenth of a consumption's time."""
    return ApiKey.objects.select_related("organisation", "client", "created_by").annotate(
        own_client_id=Subquery(OWN.values("pk")[:1]),
        own_client_name=Subquery(OWN.values("name")[:1]),
        own_client_access_mode=Subquery(OWN.values("access_mode")[:1]),
        own_client_created_at=Subquery(OWN.values("created_at")[:1]),
    )


def own_client_of(key: ApiKey) -> Client:
    """The organisation's own client as the authenticating query read it. It is always
    active: `clients.services` refuses to deactivate it (G1)."""
    client = Client(
        pk=key.own_client_id,
        organisation=key.organisation,
        name=key.own_client_name,
        kind=ClientKind.OWN,
        access_mode=key.own_client_access_mode,
        is_active=True,
        created_at=key.own_client_created_at,
    )
    client._state.adding = False
    client._state.db = key._state.db
    return client


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
        prefix = services.prefix_of(secret)
        key = keycache.get(prefix)
        if key is None:
            try:
                key = keys_with_own_client().get(prefix=prefix)
            except ApiKey.DoesNotExist:
                key = None
            else:
                keycache.put(prefix, key)
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
