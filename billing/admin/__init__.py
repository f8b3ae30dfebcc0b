"""Back office for billing (K1), one module per subject."""

from billing.admin import invoices, offers, purchases

__all__ = ["invoices", "offers", "purchases"]
