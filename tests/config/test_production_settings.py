"""Production settings fail closed (issue 13): without a SECRET_KEY the portal does not start
unless DEBUG is on; HTTPS protections are on by default and each can be set from the
environment; and the README's production recipe passes `check --deploy` with no warning.

Each test runs `manage.py` in a process of its own with a clean environment (only PATH plus
what the test sets), as an operator's shell would, since settings are read once at start-up.
A `.env` beside manage.py would be read too, so these tests skip when one exists.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANAGE = str(ROOT / "manage.py")
PATH = "/usr/local/bin:/usr/bin:/bin"
KEY = "a-production-key-for-the-tests-only-0123456789-abcdefghijklmnop"
HTTPS_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
)
PRINT_SETTINGS = (
    "import json; from django.conf import settings; "
    f"print(json.dumps({{name: getattr(settings, name) for name in {HTTPS_SETTINGS!r}}}))"
)

pytestmark = pytest.mark.skipif(
    (ROOT / ".env").exists(), reason="a .env file beside manage.py would change the environment"
)


def manage(*arguments: str, **environment: str) -> subprocess.CompletedProcess:
    """Run manage.py with exactly `environment` plus PATH."""
    return subprocess.run(
        [sys.executable, MANAGE, *arguments],
        env={"PATH": PATH, **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def https_settings(**environment: str) -> dict[str, object]:
    """The HTTPS settings a process started with `environment` ends up with."""
    run = manage("shell", "--no-imports", "-c", PRINT_SETTINGS, **environment)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def production_defaults() -> dict[str, object]:
    return https_settings(SECRET_KEY=KEY)


@pytest.fixture(scope="module")
def overridden() -> dict[str, object]:
    """Each setting set from the environment to the opposite of its production default."""
    return https_settings(
        SECRET_KEY=KEY,
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SCHEME",
    )


def test_without_a_secret_key_only_debug_lets_the_portal_start_issue_13():
    """Issue 13: DEBUG unset (off) and no SECRET_KEY: `manage.py check` stops with a clear
    message instead of running on a key everyone can read; a laptop (DEBUG=true) needs none."""
    # When manage.py starts with no SECRET_KEY, first with DEBUG unset, then with DEBUG on
    production = manage("check")
    laptop = manage("check", DEBUG="true")

    # Then production stops and says why; the laptop starts and finds nothing wrong
    assert production.returncode != 0
    assert "SECRET_KEY is not set" in production.stderr
    assert laptop.returncode == 0, laptop.stderr
    assert "System check identified no issues" in laptop.stdout


@pytest.mark.parametrize(
    ("name", "default", "from_environment"),
    [
        ("SECURE_SSL_REDIRECT", True, False),
        ("SESSION_COOKIE_SECURE", True, False),
        ("CSRF_COOKIE_SECURE", True, False),
        ("SECURE_HSTS_SECONDS", 31_536_000, 3600),
        ("SECURE_HSTS_INCLUDE_SUBDOMAINS", True, False),
        ("SECURE_HSTS_PRELOAD", True, False),
        (
            "SECURE_PROXY_SSL_HEADER",
            ["HTTP_X_FORWARDED_PROTO", "https"],
            ["HTTP_X_FORWARDED_SCHEME", "https"],
        ),
    ],
)
def test_each_https_protection_is_on_in_production_and_can_be_set_from_the_environment_issue_13(
    production_defaults, overridden, name, default, from_environment
):
    """Issue 13: with DEBUG off and nothing else set, each HTTPS protection is on (HSTS for a
    year, the proxy's X-Forwarded-Proto trusted); the variable of the same name changes it."""
    # Given a production start with only a key, and one with every variable set
    # Then the first has the protection on, the second what the environment said
    assert production_defaults[name] == default
    assert overridden[name] == from_environment


def test_served_over_https_switches_every_https_protection_at_once_issue_13():
    """Issue 13: SERVED_OVER_HTTPS decides the defaults of all seven settings together: true
    turns them on even with DEBUG on (a staging site), false (a laptop, the tests, `make demo`
    over plain http) turns them off in production."""
    # When the portal starts with DEBUG on behind HTTPS, and in production over plain http
    staging = https_settings(DEBUG="true", SERVED_OVER_HTTPS="true")
    plain_http = https_settings(SECRET_KEY=KEY, SERVED_OVER_HTTPS="false")

    # Then the first forces HTTPS, the second does not
    assert staging == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    assert plain_http["SECURE_SSL_REDIRECT"] is False
    assert plain_http["SESSION_COOKIE_SECURE"] is False
    assert plain_http["CSRF_COOKIE_SECURE"] is False
    assert plain_http["SECURE_HSTS_SECONDS"] == 0
    assert plain_http["SECURE_PROXY_SSL_HEADER"] is None


def production_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Production\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def recipe_environment() -> dict[str, str]:
    """The environment the README's production recipe builds: its `export` lines, run by bash
    (they hold command substitutions) in an environment holding only PATH."""
    exports = [
        line.strip()
        for line in production_section().splitlines()
        if line.strip().startswith("export ")
    ]
    assert exports, "the README's Production section has no export lines"
    script = "\n".join(["set -e", *exports, "env -0"])
    run = subprocess.run(
        ["bash", "-c", script], env={"PATH": PATH}, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    pairs = (item.split("=", 1) for item in run.stdout.split("\0") if "=" in item)
    ignored = {"PWD", "SHLVL", "_", "OLDPWD"}  # bash's own
    return {name: value for name, value in pairs if name not in ignored}


def test_the_readme_production_recipe_passes_check_deploy_with_no_warning_issue_13():
    """Issue 13: with exactly the environment the README's Production section exports (and
    PATH), `manage.py check --deploy --fail-level WARNING` finds nothing (no W004 HSTS, W008
    SSL redirect, W012/W016 insecure cookies, no weak key)."""
    # Given the README's production recipe
    environment = recipe_environment()
    assert re.fullmatch(r"[\w-]{50,}", environment["SECRET_KEY"])

    # When Django's deployment checks run with it
    run = manage("check", "--deploy", "--fail-level", "WARNING", **environment)

    # Then they pass with no warning
    assert run.returncode == 0, run.stdout + run.stderr
    assert "System check identified no issues" in run.stdout
