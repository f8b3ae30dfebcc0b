"""Writes of the API app: keys (created, revoked, used) and remembered requests."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from api import keycache
from api.exceptions import IdempotencyInProgress, RequestConflict
from api.models import ApiKey, IdempotentRequest, RequestState, Scope
from clients.exceptions import ClientsError
from clients.models import Client, Organisation

KEY_MARK = "cpk_"  # every key starts with it, so secret scanners and people recognise one
PREFIX_CHARS = 8
# Recording every use would write a row per request; once a minute is enough to answer
# "is this key still used?".
LAST_USED_EVERY = timedelta(minutes=1)
# What a key looks like: the mark, an 8-character public prefix, and a secret part long enough
# that nobody guesses it. Keys drawn here match it; so must a secret given to `create_key`.
KEY_FORM = re.compile(r"cpk_[a-z0-9]{8}_[A-Za-z0-9_-]{32,200}")


def prefix_of(secret: str) -> str:
    """The public part of a key: `cpk_` and 8 hexadecimal digits."""
    return secret[: len(KEY_MARK) + PREFIX_CHARS]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # shown once; only its hash is stored


@transaction.atomic
def create_key(
    *,
    organisation: Organisation,
    name: str,
    scope: str,
    now: datetime,
    client: Client | None = None,
    actor: AbstractBaseUser | None = None,
    requests_per_minute: int | None = None,
    secret: str | None = None,
) -> NewKey:
    """A new key whose secret the caller shows once.

    `secret` is for the demo only: a fixed key that the documentation can print, so that a
    `curl` session against a fresh demo works as written. It must have the form of a drawn
    key (KEY_FORM), and its prefix must be free."""
    if secret is not None and not KEY_FORM.fullmatch(secret):
        raise ClientsError(
            _(
                "A key is “cpk_”, 8 lower-case letters or digits, “_” and at least 32 more "
                "characters."
            )
        )
    if scope not in Scope.values:
        raise ClientsError(_("Choose read only or read and write."))
    if not name.strip():
        raise ClientsError(_("Give the key a name, to recognise it later."))
    if client is not None and client.organisation_id != organisation.pk:
        raise ClientsError(_("This client belongs to another organisation."))
    if secret is None:
        prefix = KEY_MARK + secrets.token_hex(PREFIX_CHARS // 2)
        secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    else:
        prefix = prefix_of(secret)
        if ApiKey.objects.filter(prefix=prefix).exists():
            raise ClientsError(_("A key with this prefix exists already."))
    key = ApiKey(
        organisation=organisation,
        name=name.strip(),
        prefix=prefix,
        secret_hash=hash_secret(secret),
        scope=scope,
        client=client,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
    )
    if requests_per_minute is not None:
        key.requests_per_minute = requests_per_minute
    key.full_clean(exclude=["secret_hash", "created_by", "organisation", "client"])
    key.save()
    return NewKey(key=key, secret=secret)


def revoke_key(*, key: ApiKey, now: datetime) -> ApiKey:
    """A revoked key is refused from its next request on; revoking twice keeps the first
    date."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.refresh_from_db(fields=["revoked_at"])
    keycache.forget(key.prefix)  # other processes drop it within API_KEY_CACHE_SECONDS
    return key


def record_use(*, key: ApiKey, now: datetime) -> None:
    """At most one write a minute per key (see LAST_USED_EVERY)."""
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
    ).update(last_used_at=now)
    key.last_used_at = now


def begin_request(
    *, organisation: Organisation, key: str, fingerprint: str, now: datetime
) -> tuple[IdempotentRequest, bool]:
    """Claim `key` for a request, or find the answer it already got.

    Returns the record and whether this request is the one to run it. Raises
    RequestConflict when the key came with another body, IdempotencyInProgress while another
    request with it is still running. The claim commits at once (autocommit), so a
    concurrent request sees it; a claim left running past its lease is taken over."""
    table = IdempotentRequest._meta.db_table
    with connection.cursor() as cursor:
        # One statement, and no error on a taken key (so no savepoint inside a transaction):
        # this runs before every keyed POST, and through the ORM it cost half a millisecond of
        # Python (bench/RESULTS.md, "API over HTTP").
        cursor.execute(
            f"INSERT INTO {table} (organisation_id, key, fingerprint, state, content_type, body, "
            "created_at) VALUES (%s, %s, %s, %s, '', %s, %s) "
            "ON CONFLICT (organisation_id, key) DO NOTHING RETURNING id",
            [organisation.pk, key, fingerprint, RequestState.RUNNING, b"", now],
        )
        claimed = cursor.fetchone()
    if claimed is not None:
        claim = IdempotentRequest(
            pk=claimed[0],
            organisation=organisation,
            key=key,
            fingerprint=fingerprint,
            state=RequestState.RUNNING,
            created_at=now,
        )
        claim._state.adding = False
        return claim, True
    record = IdempotentRequest.objects.get(organisation=organisation, key=key)
    if record.fingerprint != fingerprint:
        raise RequestConflict()
    if record.state == RequestState.DONE:
        return record, False
    lease_over = now - settings.API_IDEMPOTENCY_LEASE
    taken = IdempotentRequest.objects.filter(
        pk=record.pk, state=RequestState.RUNNING, created_at__lt=lease_over
    ).update(created_at=now)
    if not taken:
        raise IdempotencyInProgress()
    record.created_at = now
    return record, True


def finish_request(
    *, record: IdempotentRequest, status_code: int, content_type: str, body: bytes, now: datetime
) -> None:
    """Remember the answer. A server error is not an answer: the key is let go, so the
    client's retry runs the request again (each service is idempotent on the same key)."""
    if status_code >= 500:
        abandon_request(record=record)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {IdempotentRequest._meta.db_table} SET state = %s, status_code = %s, "
            "content_type = %s, body = %s, finished_at = %s WHERE id = %s",
            [RequestState.DONE, status_code, content_type, body, now, record.pk],
        )


def abandon_request(*, record: IdempotentRequest) -> None:
    IdempotentRequest.objects.filter(pk=record.pk, state=RequestState.RUNNING).delete()


def forget_old_requests(*, now: datetime, batch: int = 10_000) -> int:
    """Delete remembered requests past the retention, in batches (a job, hourly)."""
    cutoff = now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted = 0
    while True:
        ids = list(
            IdempotentRequest.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :batch
            ]
        )
        if not ids:
            return deleted
        deleted += IdempotentRequest.objects.filter(pk__in=ids).delete()[0]
