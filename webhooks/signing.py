"""Signatures as the Standard Webhooks specification has them (https://www.standardwebhooks.com).

A receiver checks `webhook-signature` with the endpoint's secret, over
`{webhook-id}.{webhook-timestamp}.{body}`: any library of the specification verifies it
(the tests use the `standardwebhooks` package). Written here in a few lines rather than taken
as a dependency: it is HMAC-SHA256 and base64, and the portal only ever signs.
"""

import base64
import hashlib
import hmac
import json
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64


def new_secret() -> str:
    """`whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key itself: the base64 after the prefix."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def body_of(payload: dict) -> bytes:
    """The bytes sent, the same for every attempt and replay of an event (keys sorted: the
    database may hand JSON back in another order)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def headers(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id=webhook_id, timestamp=timestamp, body=body),
    }
