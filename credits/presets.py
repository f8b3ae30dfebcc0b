"""Credit policies of the five seed systems, selectable when an organisation is created.

Each preset is the reading of its seed page (../shared/seeds); rate cards are separate.
"""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PolicyPreset:
    expiry_kind: str = "never"
    expiry_months: int | None = None
    purchase_extends_expiry: bool = False
    assignments_reversible: bool = True
    clients_draw_from_pool: bool = True
    reminder_days: int = 30

    def pool_fields(self) -> dict[str, object]:
        return asdict(self)


PRESETS: dict[str, PolicyPreset] = {
    "custom": PolicyPreset(),
    # Corporama: credits bought by the group, spent by every member; no expiry is stated.
    "data_provider": PolicyPreset(),
    # Deepetch: credits never expire while the account is used once every 12 months (D3);
    # sub-accounts draw from the organisation's basket within their limits (D4).
    "translation": PolicyPreset(expiry_kind="inactivity", expiry_months=12),
    # SMS platform: a package is valid 2 years and a new purchase extends the credits held
    # (S4); lists draw freely unless given a limit or assigned credits (S5).
    "sms": PolicyPreset(
        expiry_kind="after_purchase", expiry_months=24, purchase_extends_expiry=True
    ),
    # ClientManager: purchased credits roll over; plan allowances expire with their cycle,
    # which the billing side sets on each allowance lot (M2).
    "crm": PolicyPreset(),
    # Serious games: credits never expire, are assigned to clients and never moved back;
    # a client spends only what was assigned to it (G3).
    "serious_game": PolicyPreset(assignments_reversible=False, clients_draw_from_pool=False),
}
