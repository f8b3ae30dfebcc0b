"""A key with a given secret (`api.services.create_key(secret=…)`) and the demo's fixed keys
(demo/api_keys.py) that docs/api.md prints (K4)."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from api import services
from api.models import ApiKey
from clients.exceptions import ClientsError
from demo.api_keys import demo_secret, seed_api_keys

pytestmark = pytest.mark.django_db
GIVEN = "cpk_demotest_a-fixed-secret-of-thirty-two-or-more-characters"


def _balance_status(secret: str) -> int:
    return HttpClient().get("/api/v1/balance/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


def test_k4_a_key_made_with_a_given_secret_stores_its_prefix_and_hash_and_works(make_portal):
    portal = make_portal("alpha", preset="crm")
    made = services.create_key(
        organisation=portal.organisation,
        name="Fixed",
        scope="read",
        now=timezone.now(),
        secret=GIVEN,
    )
    assert made.secret == GIVEN
    assert (made.key.prefix, made.key.secret_hash) == ("cpk_demotest", services.hash_secret(GIVEN))
    assert _balance_status(GIVEN) == 200


@pytest.mark.parametrize(
    "secret",
    [
        "cpk_demotest",
        "cpk_demotest_" + "a" * 31,  # 31 characters after the prefix: too short to be secret
        "cpk_DEMOTEST_" + "a" * 40,  # the prefix is lower-case letters and digits
        "cpk_demo_" + "a" * 40,  # a prefix of 4 characters
        "xpk_demotest_" + "a" * 40,
        "cpk_demotest_" + "a" * 39 + " ",
        "cpk_demotest_" + "é" * 40,
    ],
)
def test_k4_x6_a_given_secret_not_in_the_form_of_a_key_is_refused(make_portal, secret):
    portal = make_portal("alpha", preset="crm")
    with pytest.raises(ClientsError, match="A key is “cpk_”"):
        services.create_key(
            organisation=portal.organisation,
            name="Bad",
            scope="read",
            now=timezone.now(),
            secret=secret,
        )
    assert ApiKey.objects.count() == 0


def test_k4_a_given_secret_whose_prefix_is_taken_is_refused(make_portal):
    portal = make_portal("alpha", preset="crm")
    services.create_key(
        organisation=portal.organisation,
        name="First",
        scope="read",
        now=timezone.now(),
        secret=GIVEN,
    )
    with pytest.raises(ClientsError, match=r"A key with this prefix exists already\."):
        services.create_key(
            organisation=portal.organisation,
            name="Second",
            scope="read",
            now=timezone.now(),
            secret=GIVEN[:-1] + "z",
        )
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["First"]


def test_k4_the_demo_secrets_are_the_documented_ones():
    assert demo_secret("smsplatform") == (
        "cpk_demosmsp_smsplatform-demo-key-do-not-use-in-production"
    )
    assert demo_secret("deepetch") == "cpk_demodeep_deepetch-demo-key-do-not-use-in-production"
    assert demo_secret("corporama") == ("cpk_democorp_corporama-demo-key-do-not-use-in-production")
    assert demo_secret("clientmanager") == (
        "cpk_democlie_clientmanager-demo-key-do-not-use-in-production"
    )
    assert demo_secret("seriousgames") == (
        "cpk_demoseri_seriousgames-demo-key-do-not-use-in-production"
    )
    assert demo_secret("ab") == "cpk_demoabxx_ab-demo-key-do-not-use-in-production"


def test_k4_the_demo_gets_a_working_write_key_and_a_revoked_one_once(make_portal):
    # given an organisation of the demo
    portal = make_portal("smsplatform", preset="sms")
    now = timezone.now()
    # when its keys are seeded, twice
    secret = seed_api_keys(portal.organisation, portal.owner, now)
    again = seed_api_keys(portal.organisation, portal.owner, now)
    # then the documented secret, a read-and-write key that works, and one revoked key
    assert secret == again == "cpk_demosmsp_smsplatform-demo-key-do-not-use-in-production"
    keys = list(
        ApiKey.objects.filter(organisation=portal.organisation).values_list(
            "name", "scope", "created_by", "created_at", "last_used_at", "revoked_at"
        )
    )
    assert keys == [
        ("Demo integration", "write", portal.owner.pk, now, None, None),
        (
            "Old reporting script",
            "read",
            portal.owner.pk,
            now - timedelta(days=120),
            now - timedelta(days=40),
            now - timedelta(days=30),
        ),
    ]
    assert _balance_status(secret) == 200
