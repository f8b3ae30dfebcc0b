"""Login protection (django-axes): who is knocking, and lifting a lock-out.

Axes counts wrong passwords per (username, client address) and locks that pair out for
`AXES_COOLOFF_TIME` after `AXES_FAILURE_LIMIT` of them. Two things are the portal's own:

- the client's address. Behind the TLS proxy of the README every request comes from the
  proxy's own address, so counting on `REMOTE_ADDR` would lock out everyone at once after
  one person's mistakes. The proxy appends the address it saw to `X-Forwarded-For`; we trust
  exactly `AXES_TRUSTED_PROXY_COUNT` such hops, counted from the right, so that whatever a
  client writes into the header itself (the left part) cannot choose its address.
- staff lifting a lock-out in the back office ("Unlock"), so a person who proved who they
  are by other means logs in at once instead of waiting for the cool-off.
"""

import ipaddress
import logging
from collections.abc import Iterable
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

log = logging.getLogger(__name__)


def client_ip_address(request: HttpRequest) -> str | None:
    """The address of whoever sent the request (AXES_CLIENT_IP_CALLABLE).

    The hops are the `X-Forwarded-For` entries followed by `REMOTE_ADDR`; the last
    `AXES_TRUSTED_PROXY_COUNT` of them are our proxies, and the one just before them is the
    client. A request with fewer hops did not come through the proxies (a health check on
    loopback): its `REMOTE_ADDR` is the client. An entry that is not an IP address (a proxy
    misconfigured) falls back to `REMOTE_ADDR` rather than storing garbage.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = max(int(getattr(settings, "AXES_TRUSTED_PROXY_COUNT", 0)), 0)
    if not proxies:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if remote:
        hops.append(remote)
    if len(hops) <= proxies:
        return remote
    candidate = hops[-(proxies + 1)]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        log.warning("X-Forwarded-For hop %r is not an IP address; using REMOTE_ADDR", candidate)
        return remote


def unlock(*, logins: Iterable[tuple[str | None, str | None]], actor=None) -> int:
    """Lift the lock-out of each (username, IP address) pair: forget its failed attempts.

    Staff call this after checking who is asking; the person can log in at once. Returns how
    many attempt records were forgotten (0 when the pairs were not locked: unlocking twice is
    harmless). The pairs come from axes' own rows (attempts or the failure log), so a pair
    with no username or no address is matched exactly as axes recorded it.
    """
    pairs = set(logins)
    if not pairs:
        return 0
    match = Q()
    for username, ip_address in pairs:
        match |= Q(username=username, ip_address=ip_address)
    with transaction.atomic():
        _total, deleted = AccessAttempt.objects.filter(match).delete()
    count = deleted.get(AccessAttempt._meta.label, 0)
    log.info(
        "Login lock-out lifted for %d (username, address) pair(s) by %s (%d attempt rows)",
        len(pairs),
        getattr(actor, "pk", None),
        count,
    )
    return count


def forget_expired_attempts(*, now: datetime) -> int:
    """Forget the attempts older than the cool-off: they no longer lock anyone out, so the
    list staff read shows only what matters. Returns how many were forgotten."""
    threshold = now - settings.AXES_COOLOFF_TIME
    with transaction.atomic():
        _total, deleted = AccessAttempt.objects.filter(attempt_time__lte=threshold).delete()
    return deleted.get(AccessAttempt._meta.label, 0)
