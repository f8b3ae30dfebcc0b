"""The demo: one organisation per seed system, so every requirement can be seen in a browser."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clients import services as client_services
from clients.models import AccessMode, ClientKind, Organisation, Role
from credits import services as credit_services
from demo.api_keys import demo_secret, seed_api_keys
from demo.catalogue import install_catalogue, set_up_billing
from demo.history import make_history
from demo.webhooks import seed_webhooks

DEMO_PASSWORD = "demo-credits-2026"
DEMO_SITE = "http://127.0.0.1:8000"  # where `make demo` serves, for invitation links
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
    member_only_for: str | None = None  # the client its member is tied to, by name
    low_balance_threshold: int = 0
    invitation: tuple[str, str, str | None] | None = None  # e-mail, role, client name


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
        member_only_for="Legal department",  # a sub-account's own user (D4)
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
        invitation=("marketing@smsplatform.example", Role.ADMIN, None),
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
        low_balance_threshold=4000,
        invitation=("trainer@globex.example", Role.MEMBER, "Globex Academy"),
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
            what = f"{role.label} of {seed.name}"
            if role == Role.MEMBER and seed.member_only_for:
                what += f", only for {seed.member_only_for}"
            logins.append(Login(f"{seed.slug}-{role.value}", DEMO_PASSWORD, what))
    return logins


def demo_api_keys() -> list[tuple[str, str]]:
    """(organisation name, its demo API key), printed with the logins (docs/api.md)."""
    return [(seed.name, demo_secret(seed.slug)) for seed in SEED_ORGANISATIONS]


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


def load_demo(*, now: datetime | None = None) -> list[Organisation]:
    """Create the five seed organisations with their people, clients and history; runs once
    per database (a second call changes nothing and returns the existing organisations)."""
    now = now or timezone.now()
    if demo_is_loaded():
        return list(Organisation.objects.filter(slug__in=[s.slug for s in SEED_ORGANISATIONS]))
    organisations = _load(now)
    _invite(now)  # e-mails go out after the commit, as the portal sends them
    return organisations


@transaction.atomic
def _load(now: datetime) -> list[Organisation]:
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
        clients = {
            name: client_services.create_client(
                organisation=organisation, name=name, kind=kind, access_mode=access_mode
            )
            for name, kind, access_mode in seed.clients
        }
        for role in (Role.ADMIN, Role.MEMBER):
            person = _user(f"{seed.slug}-{role.value}", first_name=role.label, last_name=seed.name)
            tied = (
                clients[seed.member_only_for]
                if role == Role.MEMBER and seed.member_only_for
                else None
            )
            client_services.add_member(
                organisation=organisation, user=person, role=role, client=tied
            )
        if seed.low_balance_threshold:
            credit_services.update_policy(
                organisation=organisation, low_balance_threshold=seed.low_balance_threshold
            )
        set_up_billing(
            organisation,
            price_lists[seed.price_list] if seed.price_list else None,
            enterprise=seed.enterprise_terms,
            now=now,
        )
        make_history(organisation, seed.preset, now=now)
        seed_api_keys(organisation, owner, now)
        seed_webhooks(organisation, now)
        organisations.append(organisation)
    return organisations


def _invite(now: datetime) -> None:
    """One invitation waiting to be accepted in the organisations that have one."""
    for seed in SEED_ORGANISATIONS:
        if seed.invitation is None:
            continue
        organisation = Organisation.objects.get(slug=seed.slug)
        email, role, client_name = seed.invitation
        client_services.invite_member(
            organisation=organisation,
            email=email,
            role=role,
            client=organisation.clients.get(name=client_name) if client_name else None,
            invited_by=organisation.memberships.get(role=Role.OWNER).user,
            link_base=DEMO_SITE,
            now=now,
        )
