"""Small helpers the billing services share (not part of the service API)."""

import hashlib
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser

from clients.models import Organisation

User = AbstractBaseUser | None


def local_date(moment: datetime, organisation: Organisation) -> date:
    return moment.astimezone(ZoneInfo(organisation.time_zone)).date()


def fingerprint(**values: object) -> str:
    """What a request asked for, so that a replayed idempotency key can be told from a
    reused one (X3)."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
