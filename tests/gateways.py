"""A payment gateway for tests that remembers every call, as a real one would.

Like a real gateway it answers a repeated idempotency key with the first outcome and never
charges twice for it; unlike the sandbox it can be told what to do next (decline, raise as a
lost connection would, after or before charging). Its memory is shared by every instance
(`get_gateway()` makes a new one per call) and reset by the `recording_gateway` fixture.
"""

import threading
from dataclasses import dataclass, field
from decimal import Decimal

from billing.gateway import ChargeResult, SandboxGateway


class GatewayTimeout(Exception):
    """The connection dropped: the caller cannot know whether the money was taken."""


@dataclass
class Memory:
    charges: dict[str, ChargeResult] = field(default_factory=dict)  # by idempotency key
    amounts: dict[str, Decimal] = field(default_factory=dict)
    refunds: dict[str, ChargeResult] = field(default_factory=dict)
    calls: int = 0
    script: list[str] = field(default_factory=list)  # next outcomes: ok, declined, timeout...
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def taken(self) -> list[Decimal]:
        """The money actually taken, one entry per charge."""
        return [self.amounts[key] for key, result in self.charges.items() if result.ok]


MEMORY = Memory()


class RecordingGateway(SandboxGateway):
    """Cards are saved as in the sandbox; charges are remembered and scripted."""

    def charge(self, *, token, amount, currency, idempotency_key, description) -> ChargeResult:
        with MEMORY.lock:
            MEMORY.calls += 1
            if idempotency_key in MEMORY.charges:
                return MEMORY.charges[idempotency_key]
            step = MEMORY.script.pop(0) if MEMORY.script else "card"
            if step == "timeout_before":  # lost before reaching the gateway: nothing taken
                raise GatewayTimeout("no answer from the gateway")
            if step == "card":
                result = super().charge(
                    token=token,
                    amount=amount,
                    currency=currency,
                    idempotency_key=idempotency_key,
                    description=description,
                )
            elif step == "declined":
                result = ChargeResult(ok=False, error="Your card was declined.", declined=True)
            else:  # "ok", or "timeout_after": charged, but the answer is lost on the way
                result = ChargeResult(ok=True, reference=f"ch_test_{len(MEMORY.charges) + 1}")
            MEMORY.charges[idempotency_key] = result
            MEMORY.amounts[idempotency_key] = amount
            if step == "timeout_after":
                raise GatewayTimeout("the answer was lost after the charge")
            return result

    def refund(self, *, reference, amount, currency, idempotency_key) -> ChargeResult:
        with MEMORY.lock:
            MEMORY.calls += 1
            if idempotency_key not in MEMORY.refunds:
                MEMORY.refunds[idempotency_key] = ChargeResult(
                    ok=True, reference=f"re_test_{len(MEMORY.refunds) + 1}"
                )
            return MEMORY.refunds[idempotency_key]
