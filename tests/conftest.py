"""Shared fixtures.

Tests that need the servers `make test` starts carry a marker (postgres, redis, browser).
Outside `make test` they are skipped with the reason; inside it (PORTAL_FULL_TEST_RUN=1)
nothing is skipped, so a missing server fails the run instead of hiding.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

FULL_RUN = os.environ.get("PORTAL_FULL_TEST_RUN") == "1"
CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(config, items) -> None:
    if FULL_RUN:
        return
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    reasons = {
        "postgres": None if on_postgres else "needs PostgreSQL (run `make test`)",
        "redis": None if settings.REDIS_URL else "needs Redis (run `make test`)",
        "browser": None if CHROMIUM.exists() else "needs /usr/bin/chromium (run `make test`)",
    }
    for item in items:
        for marker, reason in reasons.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True, scope="session")
def _flush_passes_the_ledger_guard():
    """Django empties the database after each transactional test (and `live_server` test)
    with one `TRUNCATE` of every table, which the ledger's tables refuse on PostgreSQL (credits
    migration 0021). The test run's flush runs it with `session_replication_role = replica`,
    under which no ordinary trigger fires. Only a superuser may set that parameter (the test
    server's `postgres`), never the application's role (`manage.py grant_app_role`): the
    guard stays whole in production, and `SET LOCAL` ends with the flush's transaction. SQLite
    has no TRUNCATE: its flush is untouched."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if sql_list:
            sql_list = [
                "SET LOCAL session_replication_role = replica",
                *sql_list,
                "SET LOCAL session_replication_role = DEFAULT",
            ]
        return original(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database(request) -> str:
    """A case that must hold on both databases (SQLite stores what PostgreSQL refuses):
    asked for by a test, it runs once per database, and the variant of the database this run
    does not use is skipped (`make test-fast` runs SQLite's, `make test` PostgreSQL's)."""
    from django.db import connection

    if connection.vendor != request.param:
        pytest.skip(f"the {request.param} variant runs when the tests run on {request.param}")
    return request.param


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, password: str = "a-long-test-password", **extra):
        return django_user_model.objects.create_user(
            username=username, password=password, email=f"{username}@test.example", **extra
        )

    return make


@pytest.fixture
def make_organisation(make_user):
    from clients import services

    def make(slug: str, owner=None, **extra):
        owner = owner or make_user(f"{slug}-owner")
        return services.create_organisation(
            name=extra.pop("name", slug.title()), slug=slug, owner=owner, **extra
        )

    return make


@pytest.fixture(autouse=True)
def _celery_runs_inline():
    """Tasks run in the test's own process unless a test asks for the real worker."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Hashing a password the production way takes a quarter of a second by design; tests
    create hundreds of people and log them in, and test no hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _files_in_a_temporary_folder(settings, tmp_path):
    """Invoice PDFs and other stored files go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """LocaleMiddleware activates a request's language in the test's thread and leaves it
    there: after a page in French, later tests would read the services' messages in French."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def recording_gateway(settings):
    """The payment gateway remembers every charge (tests.gateways); returns its memory."""
    from tests import gateways

    settings.PAYMENT_GATEWAY = "tests.gateways.RecordingGateway"
    gateways.MEMORY = gateways.Memory()
    yield gateways.MEMORY
    gateways.MEMORY = gateways.Memory()


@pytest.fixture
def catalogue(db):
    """The demo's offers (demo.catalogue): the default EUR list with volume tiers, the
    distributors', data, translation and SMS lists (SMS packages), GBP plans."""
    from demo.catalogue import install_catalogue

    return install_catalogue()
