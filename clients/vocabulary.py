"""Each organisation in its own words: what its customers call the units that spend credits.

The SMS platform's customers have lists, Deepetch's have sub-accounts, the serious-game
studio's have clients; pages, menus and forms read the organisation's words from here
(`request.words` in templates) instead of saying "client" everywhere. The kind is a setting
of the organisation (`Organisation.client_kind`, editable in admin), started from its preset.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from clients.models import ClientKind


@dataclass(frozen=True)
class Words:
    """Whole phrases rather than a noun to slot into sentences: French nouns have genders."""

    one: Promise  # "List"
    many: Promise  # "Lists"
    new: Promise  # "New list"
    all: Promise  # "All lists"
    none_yet: Promise  # "No lists yet."


WORDS: dict[str, Words] = {
    ClientKind.LIST: Words(
        pgettext_lazy("clients of kind list", "List"),
        pgettext_lazy("clients of kind list", "Lists"),
        pgettext_lazy("clients of kind list", "New list"),
        pgettext_lazy("clients of kind list", "All lists"),
        pgettext_lazy("clients of kind list", "No lists yet."),
    ),
    ClientKind.SUB_ACCOUNT: Words(
        pgettext_lazy("clients of kind sub-account", "Sub-account"),
        pgettext_lazy("clients of kind sub-account", "Sub-accounts"),
        pgettext_lazy("clients of kind sub-account", "New sub-account"),
        pgettext_lazy("clients of kind sub-account", "All sub-accounts"),
        pgettext_lazy("clients of kind sub-account", "No sub-accounts yet."),
    ),
    ClientKind.CUSTOMER: Words(
        pgettext_lazy("clients of kind customer", "Client"),
        pgettext_lazy("clients of kind customer", "Clients"),
        pgettext_lazy("clients of kind customer", "New client"),
        pgettext_lazy("clients of kind customer", "All clients"),
        pgettext_lazy("clients of kind customer", "No clients yet."),
    ),
    ClientKind.TEAM: Words(
        pgettext_lazy("clients of kind team", "Team"),
        pgettext_lazy("clients of kind team", "Teams"),
        pgettext_lazy("clients of kind team", "New team"),
        pgettext_lazy("clients of kind team", "All teams"),
        pgettext_lazy("clients of kind team", "No teams yet."),
    ),
    ClientKind.DEPARTMENT: Words(
        pgettext_lazy("clients of kind department", "Department"),
        pgettext_lazy("clients of kind department", "Departments"),
        pgettext_lazy("clients of kind department", "New department"),
        pgettext_lazy("clients of kind department", "All departments"),
        pgettext_lazy("clients of kind department", "No departments yet."),
    ),
}

# The kind of client each preset's seed system uses, and whether its clients choose how they
# reach games (Campus or SCORM, G7). Read when an organisation is created.
PRESET_CLIENTS: dict[str, tuple[str, bool]] = {
    "custom": (ClientKind.CUSTOMER, False),
    "data_provider": (ClientKind.TEAM, False),  # Corporama: the group's teams
    "translation": (ClientKind.SUB_ACCOUNT, False),  # Deepetch: sous-comptes (D4)
    "sms": (ClientKind.LIST, False),  # SMS platform: lists (S5, S6)
    "crm": (ClientKind.DEPARTMENT, False),  # ClientManager: departments of the business
    "serious_game": (ClientKind.CUSTOMER, True),  # serious games: clients, Campus/SCORM (G7)
}


def words_for(kind: str) -> Words:
    return WORDS.get(kind, WORDS[ClientKind.CUSTOMER])
