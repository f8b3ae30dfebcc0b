"""The demo: one organisation per seed system, so every requirement can be seen in a browser."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clients import services as client_services
from clients.models import AccessMode, ClientKind, Organisation, Role
from demo.catalogue import install_catalogue, set_up_billing
from demo.history import make_history

DEMO_PASSWORD = "demo-credits-2026"
STAFF_USERNAME = "staff"


@dataclass(frozen=True)
class DemoOrganisation:
    slug: str
    name: str
    imitates: str
    currency: str
    time_zone: str
    language: str
    preset: str
    price_list: str | None  # the organisation's own list (demo/catalogue.py); None: the default
    enterprise_terms: bool
    clients: tuple[tuple[str, str, str], ...]  # (name, kind, access mode)


SEED_ORGANISATIONS = (
    DemoOrganisation(
        slug="corporama",
        preset="data_provider",
        price_list="data",
        enterprise_terms=False,
        name="Corporama Data",
        imitates="data provider (Corporama)",
        currency="EUR",
        time_zone="Europe/Paris",
        language="fr",
        clients=(
            ("Sales team", ClientKind.TEAM, AccessMode.CAMPUS),
            ("Marketing team", ClientKind.TEAM, AccessMode.CAMPUS),
        ),
    ),
    DemoOrganisation(
        slug="deepetch",
        preset="translation",
        price_list="translation",
        enterprise_terms=True,
        name="Deepetch Translation",
        imitates="translation service (Deepetch)",
        currency="EUR",
        time_zone="Europe/Paris",
        language="fr",
        clients=(
            ("Legal department", ClientKind.SUB_ACCOUNT, AccessMode.CAMPUS),
            ("Marketing EMEA", ClientKind.SUB_ACCOUNT, AccessMode.CAMPUS),
            ("Customer support", ClientKind.SUB_ACCOUNT, AccessMode.CAMPUS),
        ),
    ),
    DemoOrganisation(
        slug="smsplatform",
        preset="sms",
        price_list="sms",
        enterprise_terms=False,
        name="SMS Platform",
        imitates="SMS platform",
        currency="EUR",
        time_zone="Europe/Rome",
        language="en",
        clients=(
            ("Newsletter subscribers", ClientKind.LIST, AccessMode.CAMPUS),
            ("VIP customers", ClientKind.LIST, AccessMode.CAMPUS),
            ("Appointment reminders", ClientKind.LIST, AccessMode.CAMPUS),
        ),
    ),
    DemoOrganisation(
        slug="clientmanager",
        preset="crm",
        price_list=None,
        enterprise_terms=False,
        name="ClientManager CRM",
        imitates="CRM (ClientManager)",
        currency="GBP",
        time_zone="Europe/London",
        language="en",
        clients=(
            ("Front desk", ClientKind.DEPARTMENT, AccessMode.CAMPUS),
            ("Field sales", ClientKind.DEPARTMENT, AccessMode.CAMPUS),
        ),
    ),
    DemoOrganisation(
        slug="seriousgames",
        preset="serious_game",
        price_list=None,
        enterprise_terms=False,
        name="Serious Game Studio",
        imitates="serious-game studio",
        currency="EUR",
        time_zone="Europe/Paris",
        language="fr",
        clients=(
            ("Acme Training", ClientKind.CUSTOMER, AccessMode.CAMPUS),
            ("Globex Academy", ClientKind.CUSTOMER, AccessMode.SCORM),
            ("Initech HR", ClientKind.CUSTOMER, AccessMode.CAMPUS),
        ),
    ),
)


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    what: str


def demo_logins() -> list[Login]:
    logins = [Login(STAFF_USERNAME, DEMO_PASSWORD, "staff superuser, Django admin at /admin/")]
    for seed in SEED_ORGANISATIONS:
        for role in Role:
            logins.append(
                Login(f"{seed.slug}-{role.value}", DEMO_PASSWORD, f"{role.label} of {seed.name}")
            )
    return logins


def demo_is_loaded() -> bool:
    return Organisation.objects.filter(slug=SEED_ORGANISATIONS[0].slug).exists()


def _user(username: str, *, first_name: str = "", last_name: str = "", staff: bool = False):
    user_model = get_user_model()
    user = user_model(
        username=username,
        email=f"{username}@demo.example",
        first_name=first_name,
        last_name=last_name,
        is_staff=staff,
        is_superuser=staff,
    )
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


@transaction.atomic
def load_demo(*, now: datetime | None = None) -> list[Organisation]:
    """Create the five seed organisations with their people and clients; runs once per
    database (a second call changes nothing and returns the existing organisations)."""
    now = now or timezone.now()
    if demo_is_loaded():
        return list(Organisation.objects.filter(slug__in=[s.slug for s in SEED_ORGANISATIONS]))
    _user(STAFF_USERNAME, first_name="Back", last_name="Office", staff=True)
    price_lists = install_catalogue()
    organisations = []
    for seed in SEED_ORGANISATIONS:
        owner = _user(f"{seed.slug}-owner", first_name="Owner", last_name=seed.name)
        organisation = client_services.create_organisation(
            name=seed.name,
            slug=seed.slug,
            owner=owner,
            currency=seed.currency,
            time_zone=seed.time_zone,
            language=seed.language,
            preset=seed.preset,
        )
        for role in (Role.ADMIN, Role.MEMBER):
            person = _user(f"{seed.slug}-{role.value}", first_name=role.label, last_name=seed.name)
            client_services.add_member(organisation=organisation, user=person, role=role)
        for name, kind, access_mode in seed.clients:
            client_services.create_client(
                organisation=organisation, name=name, kind=kind, access_mode=access_mode
            )
        set_up_billing(
            organisation,
            price_lists[seed.price_list] if seed.price_list else None,
            enterprise=seed.enterprise_terms,
            now=now,
        )
        make_history(organisation, seed.preset, now=now)
        organisations.append(organisation)
    return organisations
