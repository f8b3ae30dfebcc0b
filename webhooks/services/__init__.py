"""Every write of the webhooks app (B3): endpoints, events (the outbox), deliveries.

* `emit` records an event in the transaction of the operation that causes it, with one
  delivery per endpoint subscribed; the deliveries are sent after commit by Celery.
* `deliver` sends one delivery (claimed with a lease, POSTed outside any transaction, its
  attempt recorded after); `send_due` is the sweep; `replay_delivery` sends an event again.
* `emit_consumptions` writes `consumption.created` events from a job, set-based, so the
  consume path is untouched.
* `forget_old_events` deletes the history past its retention (a daily job).
"""

from webhooks.services.consumptions import EmissionRun, emit_consumptions, settled_id
from webhooks.services.delivery import (
    LEASE,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    deliver,
    due_deliveries,
    replay_delivery,
    send_due,
)
from webhooks.services.emission import emit, payload, subscribed_endpoints
from webhooks.services.endpoints import (
    MAX_ENDPOINTS,
    delete_endpoint,
    register_endpoint,
    send_test_event,
    set_endpoint_active,
    update_endpoint,
)
from webhooks.services.retention import forget_old_events

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "MAX_ENDPOINTS",
    "RETRY_DELAYS",
    "EmissionRun",
    "delete_endpoint",
    "deliver",
    "due_deliveries",
    "emit",
    "emit_consumptions",
    "forget_old_events",
    "payload",
    "register_endpoint",
    "replay_delivery",
    "send_due",
    "send_test_event",
    "set_endpoint_active",
    "settled_id",
    "subscribed_endpoints",
    "update_endpoint",
]
