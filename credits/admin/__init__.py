"""Back office for the ledger (K1): figures and entries are read-only; every change is an
admin action or form that calls one service, and requires the model permission of what it
changes.

One module per area, each registering its own admins: `pools` (pools and client accounts),
`ledger` (lots, entries, holds, assignments, consumptions), `ratecard` (billable actions, SMS
rates, quotes), `usage` (usage roll-ups and the alerts' records). `forms` holds the forms only
this back office uses; `refusals` turns a service's refusal into a form error.
"""

from credits.admin import ledger, pools, ratecard, usage

__all__ = ["ledger", "pools", "ratecard", "usage"]
