"""The demo's API keys (K4): one read-and-write key per demo organisation with a FIXED
secret, so that the README and docs/api.md can print a `curl` session that works against
any fresh demo, and one revoked read-only key for the list's history.

The fixed secrets are public by design (they are printed in the docs): a demo database is
never a production one. The secret of organisation `<slug>` is

    cpk_demo<first 4 letters or digits of the slug>_<slug>-demo-key-do-not-use-in-production

e.g. `cpk_demosmsp_smsplatform-demo-key-do-not-use-in-production` for the SMS platform.
Two organisations whose slugs start with the same 4 letters would share a prefix: the
second is refused (`clients.exceptions.ClientsError`); the five demo slugs do not.
"""

import re
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser

from api import services
from api.models import ApiKey, Scope
from clients.models import Organisation

SUFFIX = "demo-key-do-not-use-in-production"


def demo_secret(slug: str) -> str:
    """The documented secret of a demo organisation's key."""
    mark = re.sub(r"[^a-z0-9]", "", slug.lower())[:4].ljust(4, "x")
    tail = re.sub(r"[^A-Za-z0-9_-]", "-", slug)
    return f"cpk_demo{mark}_{tail}-{SUFFIX}"


def seed_api_keys(organisation: Organisation, owner: AbstractBaseUser, now: datetime) -> str:
    """Give the organisation its demo keys and return the read-and-write one's secret.

    Safe to run again: the organisation's key already there (its prefix is fixed) is kept."""
    secret = demo_secret(organisation.slug)
    prefix = services.prefix_of(secret)
    if not ApiKey.objects.filter(organisation=organisation, prefix=prefix).exists():
        old = services.create_key(
            organisation=organisation,
            name="Old reporting script",
            scope=Scope.READ,
            actor=owner,
            now=now - timedelta(days=120),
        )
        services.record_use(key=old.key, now=now - timedelta(days=40))
        services.revoke_key(key=old.key, now=now - timedelta(days=30))
        services.create_key(
            organisation=organisation,
            name="Demo integration",
            scope=Scope.WRITE,
            actor=owner,
            now=now,
            secret=secret,
        )
    return secret
