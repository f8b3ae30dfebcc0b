"""Which URLs the portal may POST to: http or https, on a public address (B3).

An endpoint is a URL the owner types; without a check the portal would POST, from inside its
own network, to whatever it names (its database, a cloud metadata service on 169.254.169.254,
an admin port on 127.0.0.1). So the host must be, or resolve only to, global addresses: at
registration, and again before every send, since DNS may change in between; and the
connection then goes to the address that was checked (`webhooks.transport` pins it), so a
second lookup cannot answer differently. `WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` lifts the rule
for tests and the demo, whose receivers run on 127.0.0.1.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from webhooks.exceptions import UnsafeAddress
from webhooks.models import URL_MAX_LENGTH

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked address the connection goes to


def _refused(message: str) -> UnsafeAddress:
    return UnsafeAddress(message, field="url")


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL the portal accepts, or a refusal that says why."""
    if not isinstance(url, str) or not url.strip():
        raise _refused(_("Enter the URL of your endpoint."))
    if len(url) > URL_MAX_LENGTH:
        raise _refused(_("A URL has at most %(max)d characters.") % {"max": URL_MAX_LENGTH})
    if any(character.isspace() for character in url.strip()):
        raise _refused(_("A URL has no spaces."))
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _refused(_("This is not a valid URL.")) from None
    if parts.scheme not in DEFAULT_PORTS:
        raise _refused(_("The URL must start with https:// or http://."))
    if not parts.hostname:
        raise _refused(_("The URL must name a host."))
    if parts.username is not None or parts.password is not None:
        raise _refused(_("Put no user name or password in the URL; check the signature instead."))
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def is_public(address: str) -> bool:
    """A global unicast address: not private, loopback, link-local, multicast, reserved,
    shared (100.64/10) or unspecified; an IPv4 address written as IPv6 is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise _refused(_("The host %(host)s could not be found.") % {"host": host}) from None
    return list(dict.fromkeys(info[4][0] for info in found))


def check(url: str) -> Target:
    """The URL's parts and the address to connect to; refused when any address the host
    resolves to is not public (unless the setting allows it)."""
    scheme, host, port = parse(url)
    addresses = _addresses(host, port)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not is_public(address):
                raise _refused(
                    _(
                        "%(host)s is a private, loopback or link-local address: the portal "
                        "only sends to public addresses."
                    )
                    % {"host": host if host == address else f"{host} ({address})"}
                )
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, address=addresses[0])
