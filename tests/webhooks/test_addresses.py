"""Where the portal POSTs (B3, X6): http(s) only, and never into its own network: private,
loopback and link-local addresses are refused at registration and again at send time (after
resolving the host), and the connection goes to the address that was checked."""

import socket

import pytest
from django.utils import timezone

from webhooks import addresses, services
from webhooks.exceptions import UnsafeAddress, WebhookError
from webhooks.models import Attempt, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_rule(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False


@pytest.fixture
def dns(monkeypatch):
    """Host names of these tests resolve to what the test says, nothing else."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        if host.endswith(".test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://172.16.0.9/hooks",
        "https://192.168.1.20:8443/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hooks",
        "http://0.0.0.0/hooks",
        "http://[::1]/hooks",
        "http://[fe80::1]/hooks",
        "http://[fc00::5]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://localhost:8000/hooks",
    ],
)
def test_a_private_loopback_or_link_local_address_is_refused_at_registration_b3_x6(
    production_rule, make_portal, url
):
    # Given the production rule
    portal = make_portal("alpha")
    # When an owner registers an endpoint on such an address
    # Then it is refused, about the URL, and nothing is written
    with pytest.raises(UnsafeAddress) as refusal:
        services.register_endpoint(
            organisation=portal.organisation,
            url=url,
            events=[],
            all_events=True,
            now=timezone.now(),
        )
    assert refusal.value.field == "url"
    assert "only sends to public addresses" in str(refusal.value)
    assert Endpoint.objects.count() == 0


def test_a_name_resolving_to_a_private_address_is_refused_at_registration_b3_x6(
    production_rule, make_portal, dns
):
    # Given a host name whose DNS answers 10.0.0.7
    portal = make_portal("alpha")
    dns["intranet.test"] = "10.0.0.7"
    # When it is registered
    # Then the refusal names the host and its address
    with pytest.raises(UnsafeAddress, match=r"intranet\.test \(10\.0\.0\.7\) is a private"):
        services.register_endpoint(
            organisation=portal.organisation,
            url="https://intranet.test/hooks",
            events=["invoice.paid"],
            now=timezone.now(),
        )
    assert Endpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://files.example.com/hooks", "must start with https:// or http://"),
        ("javascript:alert(1)", "must start with https:// or http://"),
        ("example.com/hooks", "must start with https:// or http://"),
        ("https:///hooks", "must name a host"),
        ("https://user:secret@93.184.215.14/hooks", "no user name or password"),
        ("https://93.184.215.14:99999/hooks", "not a valid URL"),
        ("https://93.184.215.14/a b", "no spaces"),
        ("https://93.184.215.14/" + "a" * 2000, "at most 2000 characters"),
        ("", "Enter the URL"),
        ("https://nowhere.test/hooks", "could not be found"),
    ],
)
def test_a_url_the_portal_cannot_send_to_is_refused_with_its_reason_b3_x6(
    production_rule, make_portal, dns, url, message
):
    portal = make_portal("alpha")
    with pytest.raises(WebhookError, match=message):
        services.register_endpoint(
            organisation=portal.organisation,
            url=url,
            events=[],
            all_events=True,
            now=timezone.now(),
        )
    assert Endpoint.objects.count() == 0


def test_a_public_address_is_accepted_b3(production_rule, make_portal, dns):
    # Given a public address, and a name resolving to one
    portal = make_portal("alpha")
    dns["hooks.test"] = "93.184.215.14"
    # When both are registered
    for url in ("https://93.184.215.14/hooks", "https://hooks.test/credits?source=portal"):
        services.register_endpoint(
            organisation=portal.organisation,
            url=url,
            events=[],
            all_events=True,
            now=timezone.now(),
        )
    # Then both are kept as typed
    assert sorted(Endpoint.objects.values_list("url", flat=True)) == [
        "https://93.184.215.14/hooks",
        "https://hooks.test/credits?source=portal",
    ]


def test_an_address_turned_private_after_registration_is_refused_at_send_time_b3(
    make_portal, make_endpoint, receiver, dns, settings
):
    # Given an endpoint registered while its name pointed elsewhere (here: allowed), whose DNS
    # now answers the portal's own loopback, and the production rule
    portal = make_portal("alpha")
    port = receiver.server.server_address[1]
    dns["rebind.test"] = "127.0.0.1"
    endpoint = make_endpoint(portal.organisation, f"http://rebind.test:{port}/hooks")
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    now = timezone.now()
    delivery = services.send_test_event(endpoint=endpoint, now=now)
    # When the delivery is sent
    services.deliver(delivery_id=delivery.pk, now=now)
    # Then nothing reached the address, and the attempt says why
    assert receiver.requests == []
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert attempt.error.startswith("rebind.test (127.0.0.1) is a private, loopback or link-local")


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept_b3(
    make_portal, make_endpoint, receiver, dns
):
    # Given a name resolving to the receiver's address
    portal = make_portal("alpha")
    port = receiver.server.server_address[1]
    dns["receiver.test"] = "127.0.0.1"
    endpoint = make_endpoint(portal.organisation, f"http://receiver.test:{port}/hooks?x=1")
    now = timezone.now()
    delivery = services.send_test_event(endpoint=endpoint, now=now)
    # When the delivery is sent
    services.deliver(delivery_id=delivery.pk, now=now)
    # Then the receiver got it, addressed to the name, on its path
    (request,) = receiver.requests
    assert request.headers["Host"] == f"receiver.test:{port}"
    assert request.path == "/hooks?x=1"


def test_an_ipv4_address_written_as_ipv6_is_judged_as_ipv4_b3():
    assert addresses.is_public("::ffff:93.184.215.14") is True
    assert addresses.is_public("::ffff:192.168.0.1") is False
    assert addresses.is_public("224.0.0.1") is False
