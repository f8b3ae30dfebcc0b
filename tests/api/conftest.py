"""API test fixtures: an organisation from the portal tests' `make_portal`, keys, and an
HTTP client that sends a key.

`api = make_api(portal)` → an `ApiClient` acting with a new read-and-write key of that
organisation; `make_api(portal, scope="read")`, `make_api(portal, client=portal.clients[0])`
for a read-only or a tied key. `api.get(path)`, `api.post(path, body, key="…")` (JSON;
`key` becomes the Idempotency-Key header) answer Django test responses; `.json()` reads one.
"""

from dataclasses import dataclass

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from api import keycache
from api import services as api_services
from api.models import ApiKey
from api.throttling import local_counter
from tests.portal.conftest import PAID_ACTION, PASSWORD, Portal, make_portal  # noqa: F401

__all__ = ["PAID_ACTION", "PASSWORD", "ApiClient", "Portal"]


@dataclass
class ApiClient:
    http: HttpClient
    key: ApiKey
    secret: str

    def _headers(self, key: str | None) -> dict:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return headers

    def get(self, path: str, params: dict | None = None):
        return self.http.get(path, params or {}, **self._headers(None))

    def post(self, path: str, body: object = None, *, key: str | None = None):
        return self.http.post(
            path,
            body if body is not None else {},
            content_type="application/json",
            **self._headers(key),
        )

    def patch(self, path: str, body: object, *, key: str | None = None):
        return self.http.patch(path, body, content_type="application/json", **self._headers(key))

    def delete(self, path: str):
        return self.http.delete(path, **self._headers(None))


@pytest.fixture
def make_api(db):
    def make(portal: Portal, *, scope: str = "write", client=None, **extra) -> ApiClient:
        made = api_services.create_key(
            organisation=portal.organisation,
            name=f"test {scope}",
            scope=scope,
            client=client,
            actor=portal.owner,
            now=timezone.now(),
            **extra,
        )
        return ApiClient(http=HttpClient(), key=made.key, secret=made.secret)

    return make


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    """Each test starts with no request counted against any key, and no key remembered by
    the process (a key of an earlier test's rolled-back database would be)."""
    local_counter.clear()
    keycache.clear()
    yield
    local_counter.clear()
    keycache.clear()
