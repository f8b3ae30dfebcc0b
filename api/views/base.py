"""The base of every API view: a key's organisation, its scope, the Idempotency-Key."""

import hashlib
from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import Serializer

import api.converters  # noqa: F401  (registers <id:…> for every route module)
from api import services
from api.authentication import ApiKeyAuthentication, own_client_of
from api.exceptions import ClientNotAllowed
from api.models import ApiKey, IdempotentRequest
from api.pagination import NewestFirst
from api.permissions import HasApiKey
from api.throttling import PerKeyRate
from clients.models import Client, Organisation

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 190  # the ledger keeps it (200 characters) behind "api:"


class _Replay(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


class ApiView(generics.GenericAPIView):
    """Everything under /api/v1/ acts for the organisation of the key that called.

    Every query starts from `self.organisation` (X5): an id of another organisation is not
    found (404), never refused in a way that says it exists."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [PerKeyRate]
    pagination_class = NewestFirst

    idempotency_record: IdempotentRequest | None = None

    @property
    def api_key(self) -> ApiKey:
        return self.request.auth

    @property
    def organisation(self) -> Organisation:
        return self.api_key.organisation

    @property
    def actor(self):
        """Who answers for what a key writes: the person who created it."""
        return self.api_key.created_by

    @cached_property
    def now(self) -> datetime:
        return timezone.now()

    @property
    def idempotency_key(self) -> str:
        return self.request.headers.get(IDEMPOTENCY_HEADER, "")

    @property
    def ledger_key(self) -> str:
        """The Idempotency-Key as the services' own key: a retry that the API's record did
        not catch (the process died after the service committed) is still replayed by the
        service. Prefixed, so that it never meets a key of the portal's pages."""
        return f"api:{self.idempotency_key}" if self.idempotency_key else ""

    def clients(self) -> QuerySet[Client]:
        """The clients this key may see and act for: one, for a key tied to a client (B7)."""
        found = Client.objects.filter(organisation=self.organisation).select_related("organisation")
        if self.api_key.client_id is not None:
            found = found.filter(pk=self.api_key.client_id)
        return found

    def client_for(self, client_id: int | None) -> Client:
        """The client named in a request, or the key's own default: its tied client, else the
        organisation's own client. Another organisation's id is not found."""
        if client_id is None:
            if self.api_key.client_id is not None:
                return self.clients().get()
            if getattr(self.api_key, "own_client_id", None) is not None:
                return own_client_of(self.api_key)
            return generics.get_object_or_404(self.clients(), kind="own")
        return generics.get_object_or_404(self.clients(), pk=client_id)

    def validated(self, serializer_class: type[Serializer], data=None, **context) -> dict:
        """What the request sent (its body, unless `data` is given), checked by
        `serializer_class`: a bad one answers `validation_error` before any service runs,
        so nothing is written."""
        given = serializer_class(data=self.request.data if data is None else data, context=context)
        given.is_valid(raise_exception=True)
        return given.validated_data

    def refuse_tied_key(self) -> None:
        """For what only a key of the whole organisation may do (create clients, assign)."""
        if self.api_key.client_id is not None:
            raise ClientNotAllowed()

    # Idempotency-Key: the same key and body (method, path, content type and bytes) get the
    # same answer, replayed from the first one.
    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        key = self.idempotency_key
        if request.method != "POST" or not key:
            return
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationError({IDEMPOTENCY_HEADER: [_("At most 190 printable characters.")]})
        digest = hashlib.sha256()
        for part in (request.method, request.path, request.content_type or ""):
            digest.update(part.encode() + b"\0")
        digest.update(request._request.body)
        record, owned = services.begin_request(
            organisation=self.organisation, key=key, fingerprint=digest.hexdigest(), now=self.now
        )
        if not owned:
            response = HttpResponse(
                bytes(record.body), status=record.status_code, content_type=record.content_type
            )
            response[REPLAY_HEADER] = "true"
            raise _Replay(response)
        self.idempotency_record = record

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            if self.idempotency_record is not None:
                services.abandon_request(record=self.idempotency_record)
                self.idempotency_record = None
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self.idempotency_record = self.idempotency_record, None
        if record is not None:
            response.render()
            services.finish_request(
                record=record,
                status_code=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=bytes(response.content),
                now=timezone.now(),
            )
        return response
