"""Credit policies of the five seed systems, selectable when an organisation is created.

Each preset is the reading of its seed page (../shared/seeds); rate cards are separate. The
names of a rate card are marked for translation: an organisation's card is written in its own
language when it opens (`credits.services.install_rate_card`), then edited as data in admin.
"""

from dataclasses import asdict, dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class PolicyPreset:
    expiry_kind: str = "never"
    expiry_months: int = 12  # read only by the kinds that expire
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


@dataclass(frozen=True)
class ActionSpec:
    code: str
    name: str
    category: str
    rule: str
    credits: int = 0
    unit_param: str = ""
    table_params: tuple[str, ...] = ()
    prices: tuple[tuple[tuple[tuple[str, str], ...], int], ...] = ()
    description: str = ""
    extra_params: tuple[str, ...] = ()


def _free(code: str, name: str, category: str = _("Free")) -> ActionSpec:
    return ActionSpec(code, name, category, "free")


TRANSLATION_PRICES = tuple(
    ((("complexity", complexity), ("service", service)), credits)
    for service, by_complexity in {
        "general": {"simple": 20, "standard": 40, "complex": 80},
        "legal": {"simple": 60, "standard": 90, "complex": 120},
        "marketing": {"simple": 30, "standard": 60, "complex": 90},
    }.items()
    for complexity, credits in by_complexity.items()
)

# (country, name, calling code, credits per part) for the SMS preset (S1)
SMS_RATES = (
    ("BE", _("Belgium"), "32", 2),
    ("CH", _("Switzerland"), "41", 3),
    ("DE", _("Germany"), "49", 2),
    ("ES", _("Spain"), "34", 1),
    ("FR", _("France"), "33", 1),
    ("GB", _("United Kingdom"), "44", 2),
    ("IT", _("Italy"), "39", 1),
    ("US", _("United States"), "1", 1),
)

RATE_CARDS: dict[str, tuple[ActionSpec, ...]] = {
    "custom": (),
    # C1, C2: browsing is unlimited; exports, enrichment and e-mailing cost credits.
    "data_provider": (
        _free("search", _("Targeting (classic or AI)")),
        _free("company_view", _("Company record")),
        _free("key_events", _("Key events")),
        _free("favourite", _("Add to favourites")),
        _free("saved_list", _("Saved list")),
        _free("alert", _("Alert on a company or segment")),
        _free("share_list", _("Share a list with colleagues")),
        ActionSpec("data_export", _("Data export"), _("Export"), "per_unit", 1, "rows"),
        ActionSpec("crm_enrichment", _("CRM enrichment"), _("CRM"), "per_unit", 2, "records"),
        ActionSpec(
            "email_campaign",
            _("E-mail campaign"),
            _("E-mailing"),
            "per_unit",
            1,
            "recipients",
        ),
    ),
    # D2: the price of a task depends on the service and its complexity, per page.
    "translation": (
        _free("login", _("Log in")),
        ActionSpec(
            "translation",
            _("Translation task"),
            _("Translation"),
            "table",
            0,
            "pages",
            ("service", "complexity"),
            TRANSLATION_PRICES,
        ),
        ActionSpec("proofreading", _("Proofreading"), _("Translation"), "per_unit", 10, "pages"),
    ),
    # S1: by destination country and length.
    "sms": (ActionSpec("sms", _("SMS campaign"), _("SMS"), "sms"),),
    # M1: forms, SMS and AI features cost credits; logging in, dashboard and settings are free.
    "crm": (
        _free("login", _("Log in")),
        _free("dashboard", _("View the dashboard")),
        _free("settings", _("Manage account settings")),
        ActionSpec("form_submission", _("Form filled in"), _("Forms"), "flat", 1),
        ActionSpec("sms", _("SMS message"), _("SMS"), "per_unit", 5, "messages"),
        ActionSpec("ai_summary", _("AI summary"), _("AI"), "flat", 10),
        ActionSpec("ai_email_draft", _("AI e-mail draft"), _("AI"), "flat", 5),
    ),
    # G2, G6: one learner in one game costs 6 credits, consumed at enrolment.
    "serious_game": (
        ActionSpec(
            "enrolment",
            _("Learner enrolled in a game"),
            _("Games"),
            "per_unit",
            6,
            "learners",
            extra_params=("game",),
        ),
        _free("campus_visit", _("Campus visit"), _("Campus")),
    ),
}
