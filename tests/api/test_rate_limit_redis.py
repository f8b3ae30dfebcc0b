"""K4: rate limits per API key counted in Redis, shared by every web process.

Runs against the Redis that `make test` (scripts/with-test-services) starts: `REDIS_URL` is
in the environment and so in `settings.REDIS_URL`. The throttle keeps one Redis client per
process (`api.throttling._redis`); each test starts without it so that it connects to the
address in force, and with the throttle's clock fixed 48 s into a minute, so that a test
never straddles two windows and `Retry-After` is exact (60 − 48 = 12 s).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.test import Client as HttpClient
from django.utils import timezone

from api import services as api_services
from api import throttling
from credits import services as credit_services
from credits.models import Consumption, CreditPool, LotSource

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
NOW = 60 * 29_000_000 + 48.0  # a fixed instant, 48 s into its one-minute window
WINDOW = int(NOW // 60)


class _FixedClock:
    """Stands in for the `time` module inside api.throttling only."""

    @staticmethod
    def time() -> float:
        return NOW


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr(throttling, "time", _FixedClock)


@pytest.fixture
def fresh_redis_client(monkeypatch):
    """The throttle's Redis client is made again from the settings in force."""
    monkeypatch.setattr(throttling, "_redis", None)


@pytest.fixture
def organisation(make_organisation):
    made = make_organisation("limited")
    credit_services.grant(
        organisation=made,
        credits=1000,
        source=LotSource.PURCHASE,
        now=timezone.now(),
        reference="rate limit test",
    )
    return made


def _key(organisation, *, per_minute: int):
    return api_services.create_key(
        organisation=organisation,
        name="limited",
        scope="write",
        now=timezone.now(),
        requests_per_minute=per_minute,
    )


def _count_key(made) -> str:
    return f"api:rate:{made.key.pk}:{WINDOW}"


def _fresh_count(settings, made) -> redis.Redis:
    """No count left in this window by an earlier run for a key with the same id (SQLite
    reuses ids after a rolled-back test)."""
    server = redis.Redis.from_url(settings.REDIS_URL)
    server.delete(_count_key(made))
    return server


def _get_balance(http: HttpClient, secret: str):
    return http.get("/api/v1/balance/", HTTP_AUTHORIZATION=f"Bearer {secret}")


def _balance(organisation) -> int:
    return CreditPool.objects.get(organisation=organisation).balance


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed when the block ends: nothing listens there


def test_k4_two_clients_share_one_count_in_redis_and_the_one_over_gets_429(
    settings, fixed_clock, fresh_redis_client, organisation
):
    # given a key allowed 3 requests a minute, counted in the test's Redis
    assert settings.REDIS_URL.startswith("redis://")
    made = _key(organisation, per_minute=3)
    server = _fresh_count(settings, made)
    first, second = HttpClient(), HttpClient()  # as two web processes would be
    before, consumptions = _balance(organisation), Consumption.objects.count()
    # when the two clients make 3 requests between them
    answers = [_get_balance(http, made.secret).status_code for http in (first, second, first)]
    # and the second then posts a consumption, the 4th request of the minute
    refused = second.post(
        "/api/v1/consumptions/",
        {"action": "anything"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {made.secret}",
        HTTP_IDEMPOTENCY_KEY="over-the-limit",
    )
    # then the first 3 went through and the 4th is a 429 rate_limited, retry in 12 s
    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == "12"
    body = refused.json()
    assert (body["code"], body["status"], body["retry_after"]) == ("rate_limited", 429, 12)
    # and the count lives in Redis (4 in this window), not in the process
    assert server.get(_count_key(made)) == b"4"
    assert throttling.local_counter._counts == {}
    # and nothing moved
    assert _balance(organisation) == before
    assert Consumption.objects.count() == consumptions


def test_k4_requests_counted_by_another_process_count_against_the_key(
    settings, fixed_clock, fresh_redis_client, organisation
):
    # given a key allowed 5 requests a minute
    made = _key(organisation, per_minute=5)
    _fresh_count(settings, made)
    # when another process (a real one, as another gunicorn worker) counts 5 requests of
    # this key in the same window
    counted = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from api.throttling import count_request\n"
            f"print([count_request({made.key.pk}, {NOW}) for _ in range(5)])",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert counted.stdout.strip() == "[1, 2, 3, 4, 5]"
    # then this process's first request of the minute is the 6th: 429, retry in 12 s
    response = _get_balance(HttpClient(), made.secret)
    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    assert response.json()["code"] == "rate_limited"


def test_k4_with_redis_unreachable_requests_go_through(
    settings, fixed_clock, fresh_redis_client, organisation, caplog
):
    # given a key allowed 2 requests a minute and Redis at an address where nothing listens
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    made = _key(organisation, per_minute=2)
    http = HttpClient()
    # when it makes 4 requests
    answers = [_get_balance(http, made.secret).status_code for _ in range(4)]
    # then all 4 go through (a limit never refuses paying work because Redis is away), and
    # each uncounted request was logged
    assert answers == [200, 200, 200, 200]
    assert caplog.text.count("API rate limit not counted (Redis unreachable)") == 4
    assert throttling.local_counter._counts == {}
