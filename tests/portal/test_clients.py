"""The client pages: list, creation, credits tab, assignments, take-backs, limits and status
(G1, G3, G4, G5, G7, D4, S5, S7, X3, X5, X6)."""

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients import services as client_services
from clients.exceptions import OwnClientError
from clients.models import Client, ClientKind
from credits import services as credit_services
from credits.exceptions import CreditsError
from credits.models import Assignment, AssignmentKind, ClientAccount, CreditPool, LotSource
from tests.credits.conftest import figures
from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SMS = {"text": "Hello", "recipients": ["FR"]}  # 1 credit per recipient in France


def page(name: str, portal, client: Client | None = None) -> str:
    kwargs = {"slug": portal.organisation.slug}
    if client is not None:
        kwargs["client_id"] = client.pk
    return reverse(f"org:{name}", kwargs=kwargs)


def send_sms(client: Client, recipients: int, actor=None) -> None:
    credit_services.consume(
        client=client,
        action="sms",
        params={"text": "Hello", "recipients": ["FR"] * recipients},
        actor=actor,
        now=timezone.now(),
    )


def send_sms_at(client: Client, recipients: int, now) -> None:
    credit_services.consume(
        client=client, action="sms", params={**SMS, "recipients": ["FR"] * recipients}, now=now
    )


def assign(portal, client: Client, credits: int, reference: str = "", comment: str = ""):
    return credit_services.assign(
        organisation=portal.organisation,
        client=client,
        credits=credits,
        reference=reference,
        comment=comment,
        actor=portal.owner,
        now=timezone.now(),
    )


def assignment_form(credits: object, **extra: object) -> dict:
    return {
        "credits": credits,
        "reference": "",
        "comment": "",
        "idempotency_key": "4b0d3c52-8f0e-4a4f-9d0e-1f2a3b4c5d6e",
        **extra,
    }


@pytest.fixture
def alpha(make_portal):
    return make_portal("alpha")


@pytest.fixture
def studio(make_organisation, make_user):
    """A serious-game studio (G3: assignments are never taken back, clients spend only what
    was assigned to them) with one client holding 120 assigned credits of 1,000."""
    organisation = make_organisation("studio", preset="serious_game")
    acme = client_services.create_client(organisation=organisation, name="Acme Training")
    now = timezone.now()
    credit_services.grant(
        organisation=organisation, credits=1000, source=LotSource.PURCHASE, now=now
    )
    credit_services.assign(organisation=organisation, client=acme, credits=120, now=now)
    return organisation, acme


def log_in_studio(client) -> None:
    assert client.login(request=HttpRequest(), username="studio-owner", password=PASSWORD)


# --- the list (G1, G4, S5) --------------------------------------------------------------


def test_the_list_shows_each_clients_assigned_left_used_and_limit_exactly_g4(client, login, alpha):
    # Given 300 credits assigned to the first list, which sent 25 more SMS (1 in the fixture),
    # and a monthly limit of 500 on the second, which drew 40 from the pool since
    one, two = alpha.clients
    assign(alpha, one, 300)
    send_sms(one, 25)
    credit_services.set_spending_limit(client=two, kind="monthly", limit=500, now=timezone.now())
    send_sms(two, 40)
    login(alpha.owner)

    # When the owner opens the list
    response = client.get(page("clients", alpha))

    # Then each list shows what is left of its assigned credits, what it used and its limit
    assert response.status_code == 200
    rows = {row.client.pk: row for row in response.context["listing"].rows}
    assert (rows[one.pk].assigned_left, rows[one.pk].used, rows[one.pk].uses) == (275, 26, 2)
    assert rows[one.pk].limit.kind == "none"
    assert (rows[two.pk].assigned_left, rows[two.pk].used) == (0, 41)
    assert (rows[two.pk].limit.kind, rows[two.pk].limit.limit, rows[two.pk].limit.used) == (
        "monthly",
        500,
        40,
    )
    assert rows[two.pk].limit.left == 460
    # And the pool's credits waiting to be assigned: 1,000 − 26 − 41 spent − 275 assigned
    assert response.context["listing"].unassigned == 658
    text = response.content.decode()
    assert "Monthly: 40 of 500 used" in text
    assert '<span class="value" data-testid="unassigned">658</span>' in text


def test_the_list_reads_its_figures_in_the_same_number_of_queries_for_2_or_12_clients_g4(
    client, login, alpha
):
    """One grouped query sums the used credits of every client, whatever their number."""
    login(alpha.owner)
    with CaptureQueriesContext(connection) as few:
        assert client.get(page("clients", alpha)).status_code == 200
    for n in range(10):
        extra = client_services.create_client(organisation=alpha.organisation, name=f"Extra {n}")
        credit_services.set_spending_limit(client=extra, kind="fixed", limit=10, now=timezone.now())
        send_sms(extra, 1)
    with CaptureQueriesContext(connection) as many:
        response = client.get(page("clients", alpha))
    assert len(response.context["listing"].rows) == 13
    assert len(many) == len(few)
    assert len(many) <= 10


def test_the_own_client_comes_first_and_inactive_clients_last_g1(client, login, alpha):
    # Given a list named "Aaa" that was deactivated, and one named "Zed" that is active
    aaa = client_services.create_client(organisation=alpha.organisation, name="Aaa")
    client_services.update_client(client=aaa, is_active=False)
    zed = client_services.create_client(organisation=alpha.organisation, name="Zed")
    login(alpha.owner)

    # When the owner opens the list
    response = client.get(page("clients", alpha))

    # Then the own client comes first, the active lists by name, the inactive one last
    names = [row.client.name for row in response.context["listing"].rows]
    assert names == ["Alpha", "Alpha one", "Alpha two", zed.name, "Aaa"]
    assert 'class="badge bad">Inactive' in response.content.decode()


def test_a_member_sees_the_list_without_the_pool_figure_or_the_new_link_g4(client, login, alpha):
    login(alpha.member)
    response = client.get(page("clients", alpha))
    text = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["listing"].rows) == 3
    assert 'data-testid="unassigned"' not in text
    assert page("client_new", alpha) not in text


def test_a_member_tied_to_one_list_sees_only_it_and_another_is_404_x5(client, login, alpha):
    # Given a member tied to the first list
    login(alpha.tied)

    # When she opens the list, her list, and the other list
    listing = client.get(page("clients", alpha))
    own_page = client.get(page("client", alpha, alpha.clients[0]))
    other = client.get(page("client", alpha, alpha.clients[1]))

    # Then she sees her list only, without the manager's actions, and the other does not exist
    assert [row.client for row in listing.context["listing"].rows] == [alpha.clients[0]]
    assert own_page.status_code == 200
    assert page("client_assign", alpha, alpha.clients[0]) not in own_page.content.decode()
    assert other.status_code == 404


def test_a_member_sees_the_client_page_without_the_managers_actions_x5(client, login, alpha):
    login(alpha.member)
    response = client.get(page("client", alpha, alpha.clients[1]))
    text = response.content.decode()
    assert response.status_code == 200
    for action in ("client_assign", "client_unassign", "client_limit", "client_edit"):
        assert page(action, alpha, alpha.clients[1]) not in text
    assert page("client_status", alpha, alpha.clients[1]) not in text


# --- creating and editing (G7, X6) ------------------------------------------------------


def test_a_new_list_takes_the_sms_platforms_words_and_kind_without_asking_access_g7(
    client, login, alpha
):
    login(alpha.owner)
    # When the owner opens the form, in the SMS platform's words
    form_page = client.get(page("client_new", alpha))
    text = form_page.content.decode()
    assert "<h1>New list</h1>" in text
    assert 'name="access_mode"' not in text
    assert 'name="kind"' not in text

    # And creates "Newsletter"
    response = client.post(page("client_new", alpha), {"name": "Newsletter"})

    # Then it is a list, and its page opens
    created = Client.objects.get(organisation=alpha.organisation, name="Newsletter")
    assert created.kind == ClientKind.LIST
    assert response.status_code == 302
    assert response["Location"] == page("client", alpha, created)
    assert ClientAccount.objects.get(pk=created.pk).assigned_remaining == 0


def test_campus_or_scorm_is_asked_only_where_clients_choose_it_g7(client, studio):
    organisation, _acme = studio
    log_in_studio(client)
    url = reverse("org:client_new", kwargs={"slug": organisation.slug})
    assert 'name="access_mode"' in client.get(url).content.decode()

    client.post(url, {"name": "Globex", "access_mode": "scorm"})

    globex = Client.objects.get(organisation=organisation, name="Globex")
    assert (globex.kind, globex.access_mode) == (ClientKind.CUSTOMER, "scorm")


def test_a_duplicate_name_is_a_form_error_and_creates_nothing_x6(client, login, alpha):
    login(alpha.owner)
    response = client.post(page("client_new", alpha), {"name": "Alpha one"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "name": ["The name “Alpha one” is already used in this organisation."]
    }
    assert Client.objects.filter(organisation=alpha.organisation).count() == 3


@pytest.mark.parametrize("name", ["", "   ", "x" * 5000])
def test_an_empty_or_5000_character_name_is_a_form_error_x6(client, login, alpha, name):
    login(alpha.owner)
    response = client.post(page("client_new", alpha), {"name": name})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert Client.objects.filter(organisation=alpha.organisation).count() == 3


def test_two_requests_racing_for_one_name_get_the_same_error_not_a_500_x6(alpha, monkeypatch):
    """The check before saving is passed by both requests; the unique constraint refuses the
    second, and the service says so in the same words."""
    from django.core.exceptions import ValidationError

    import clients.services.clients as module

    monkeypatch.setattr(module, "_check_name_free", lambda client: None)
    with pytest.raises(ValidationError) as refused:
        client_services.create_client(organisation=alpha.organisation, name="Alpha one")
    assert refused.value.message_dict == {
        "name": ["The name “Alpha one” is already used in this organisation."]
    }
    assert Client.objects.filter(organisation=alpha.organisation).count() == 3


def test_editing_renames_and_switches_access_g7(client, studio):
    organisation, acme = studio
    log_in_studio(client)
    url = reverse("org:client_edit", kwargs={"slug": organisation.slug, "client_id": acme.pk})
    response = client.post(url, {"name": "Acme Learning", "access_mode": "scorm"})
    acme.refresh_from_db()
    assert response.status_code == 302
    assert (acme.name, acme.access_mode) == ("Acme Learning", "scorm")


def test_renaming_to_a_taken_name_is_a_form_error_and_changes_nothing_x6(client, login, alpha):
    login(alpha.owner)
    two = alpha.clients[1]
    response = client.post(page("client_edit", alpha, two), {"name": "Alpha one"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "name": ["The name “Alpha one” is already used in this organisation."]
    }
    assert "<h1>Edit “Alpha two”</h1>" in response.content.decode()
    two.refresh_from_db()
    assert two.name == "Alpha two"


# --- status (G1) -----------------------------------------------------------------------


def test_the_own_client_cannot_be_deactivated_and_the_page_says_why_g1(client, login, alpha):
    login(alpha.owner)
    before = figures(alpha.organisation)
    url = page("client_status", alpha, alpha.own)

    shown = client.get(url).content.decode()
    refused = client.post(url, {"active": "no"})

    assert "The organisation's own client cannot be deactivated" in shown
    assert 'name="active"' not in shown
    assert refused.status_code == 200
    alpha.own.refresh_from_db()
    assert alpha.own.is_active is True
    assert figures(alpha.organisation) == before


def test_the_service_refuses_to_deactivate_the_own_client_g1(alpha):
    with pytest.raises(OwnClientError, match="cannot be deactivated"):
        client_services.update_client(client=alpha.own, is_active=False)
    assert alpha.own.is_active is True  # the caller's object is left as stored


def test_a_deactivated_list_cannot_spend_and_a_second_post_does_not_reactivate_it(
    client, login, alpha
):
    # Given the owner who confirms the deactivation of the second list, twice
    login(alpha.owner)
    two = alpha.clients[1]
    url = page("client_status", alpha, two)
    assert 'value="no"' in client.get(url).content.decode()
    client.post(url, {"active": "no"})
    client.post(url, {"active": "no"})

    # Then it is inactive, and it cannot spend
    two.refresh_from_db()
    assert two.is_active is False
    before = figures(alpha.organisation)
    with pytest.raises(CreditsError):
        send_sms(two, 1)
    assert figures(alpha.organisation) == before

    # And it can be reactivated
    client.post(url, {"active": "yes"})
    two.refresh_from_db()
    assert two.is_active is True


# --- the credits tab (G5) ---------------------------------------------------------------


def test_the_credits_tab_is_exact_after_assignments_a_take_back_and_consumptions_g5(
    client, login, alpha
):
    # Given 300 then 200 credits assigned to the first list, 50 taken back, and SMS sent:
    # 1 from the pool (the fixture, before any assignment), then 30 from assigned credits
    one = alpha.clients[0]
    assign(alpha, one, 300, reference="PO-1", comment="Spring campaign")
    assign(alpha, one, 200, reference="PO-2")
    credit_services.unassign(
        organisation=alpha.organisation,
        client=one,
        credits=50,
        reference="Back",
        actor=alpha.admin,
        now=timezone.now(),
    )
    send_sms(one, 30, actor=alpha.member)
    login(alpha.owner)

    # When the owner opens its page
    response = client.get(page("client", alpha, one))

    # Then the credits tab adds up
    credits = response.context["credits"]
    assert (credits.assigned, credits.taken_back, credits.assigned_net) == (500, 50, 450)
    assert (credits.used, credits.used_from_assigned, credits.used_from_pool) == (31, 30, 1)
    assert credits.summary.assigned_left == 420
    assert (credits.expired, credits.held_from_assigned) == (0, 0)
    assert [(a.kind, a.credits, a.reference) for a in credits.assignments] == [
        (AssignmentKind.UNASSIGN, 50, "Back"),
        (AssignmentKind.ASSIGN, 200, "PO-2"),
        (AssignmentKind.ASSIGN, 300, "PO-1"),
    ]
    assert [line.consumption.credits for line in credits.latest] == [30, 1]
    # And the page shows every assignment, who made it, and links each consumption
    text = response.content.decode()
    assert '<span class="value" data-testid="left">420</span>' in text
    assert "Spring campaign" in text
    assert "alpha-admin" in text
    assert "−50" in text
    assert reverse("org:consumption", args=["alpha", alpha.consumptions[0].pk]) in text
    assert f"/o/alpha/activity/?client={one.pk}&amp;kind=consumption" in text


def test_the_credits_tab_shows_the_latest_20_consumptions_of_more_g5(client, login, alpha):
    one = alpha.clients[0]
    for _ in range(24):
        send_sms(one, 1)
    login(alpha.owner)
    response = client.get(page("client", alpha, one))
    credits = response.context["credits"]
    assert (len(credits.latest), credits.uses, credits.more_consumptions) == (20, 25, True)
    assert "The latest 20 of 25." in response.content.decode()


def test_the_credits_tab_shows_the_limit_used_and_left_in_the_window_d4(client, login, alpha):
    two = alpha.clients[1]
    credit_services.set_spending_limit(client=two, kind="fixed", limit=100, now=timezone.now())
    send_sms(two, 35)
    login(alpha.member)
    credits = client.get(page("client", alpha, two)).context["credits"]
    limit = credits.summary.limit
    assert (limit.kind, limit.limit, limit.used, limit.left) == ("fixed", 100, 35, 65)


def test_a_monthly_window_of_an_earlier_month_reads_as_started_again_d4(alpha):
    """Until the monthly job (or the next debit) rolls it, a window from last month still
    stores last month's use; the pages show what the debit would count: 0."""
    from datetime import timedelta

    from credits.selectors.clients import client_list, client_summary

    two = alpha.clients[1]
    last_month = timezone.now() - timedelta(days=40)
    credit_services.set_spending_limit(client=two, kind="monthly", limit=100, now=last_month)
    send_sms_at(two, 30, last_month)
    assert ClientAccount.objects.get(pk=two.pk).used == 30

    now = timezone.now()
    row = next(r for r in client_list(Client.objects.filter(pk=two.pk), now=now).rows)
    assert (row.limit.used, row.limit.left) == (0, 100)
    assert client_summary(two, now=now).limit.used == 0


def test_the_client_page_reads_in_a_bounded_number_of_queries_g5(
    client, login, alpha, django_assert_max_num_queries
):
    one = alpha.clients[0]
    for n in range(5):
        assign(alpha, one, 10, reference=f"PO-{n}")
        send_sms(one, 1, actor=alpha.member)
    login(alpha.owner)
    with django_assert_max_num_queries(12):
        response = client.get(page("client", alpha, one))
    assert len(response.context["credits"].assignments) == 5


# --- assigning (G3, G4, X3, S7) ---------------------------------------------------------


def test_assigning_credits_moves_exactly_them_with_reference_and_comment_g3(client, login, alpha):
    login(alpha.admin)
    one = alpha.clients[0]
    response = client.post(
        page("client_assign", alpha, one),
        assignment_form(300, reference="PO-1", comment="For the spring"),
    )
    assert response.status_code == 302
    assert response["Location"] == page("client", alpha, one) + "#credits"
    pool = CreditPool.objects.get(pk=alpha.organisation.pk)
    assert (pool.balance, pool.assigned, pool.unassigned) == (998, 300, 698)
    assert ClientAccount.objects.get(pk=one.pk).assigned_remaining == 300
    stored = Assignment.objects.get(client=one)
    assert (stored.credits, stored.reference, stored.comment, stored.actor) == (
        300,
        "PO-1",
        "For the spring",
        alpha.admin,
    )


def test_a_double_submission_assigns_once_x3(client, login, alpha):
    login(alpha.owner)
    one = alpha.clients[0]
    form = assignment_form(300, reference="PO-1")
    first = client.post(page("client_assign", alpha, one), form)
    second = client.post(page("client_assign", alpha, one), form)
    assert (first.status_code, second.status_code) == (302, 302)
    assert Assignment.objects.filter(client=one).count() == 1
    assert ClientAccount.objects.get(pk=one.pk).assigned_remaining == 300


def test_each_drawing_of_the_form_carries_a_new_key_x3(client, login, alpha):
    login(alpha.owner)
    url = page("client_assign", alpha, alpha.clients[0])
    keys = {client.get(url).context["form"]["idempotency_key"].value() for _ in range(2)}
    assert len(keys) == 2


def test_a_shortfall_says_how_many_credits_are_short_and_moves_nothing_g4(
    client, make_portal, login
):
    # Given 42 credits bought, 2 spent: 40 waiting to be assigned
    small = make_portal("small", credits=42)
    login(small.owner)
    before = figures(small.organisation)

    # When the owner assigns 100
    response = client.post(page("client_assign", small, small.clients[0]), assignment_form(100))

    # Then the form says what is missing, and nothing moved
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "credits": ["Only 40 credits are waiting to be assigned: 60 short."]
    }
    assert figures(small.organisation) == before


@pytest.mark.parametrize(
    "data",
    [
        assignment_form(0),
        assignment_form(-5),
        assignment_form(10**20),
        assignment_form("ten"),
        assignment_form(""),
        assignment_form(10, reference="r" * 5000),
        assignment_form(10, comment="c" * 5000),
        assignment_form(10, idempotency_key=""),
        assignment_form(10, idempotency_key="not-a-key"),
    ],
    ids=[
        "zero",
        "negative",
        "1e20",
        "text",
        "empty",
        "long-ref",
        "long-comment",
        "no-key",
        "bad-key",
    ],
)
def test_bad_assignment_input_is_a_form_error_and_moves_nothing_x6(client, login, alpha, data):
    login(alpha.owner)
    before = figures(alpha.organisation)
    response = client.post(page("client_assign", alpha, alpha.clients[0]), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert figures(alpha.organisation) == before


def test_another_organisations_client_is_404_and_no_credit_moves_s7(client, login, make_portal):
    # Given Alpha's owner, and Bravo's list
    alpha, bravo = make_portal("alpha"), make_portal("bravo")
    login(alpha.owner)
    before = (figures(alpha.organisation), figures(bravo.organisation))

    # When she posts an assignment or a take-back to Bravo's list under her own organisation
    foreign = {"slug": "alpha", "client_id": bravo.clients[0].pk}
    for name in ("client_assign", "client_unassign", "client_limit", "client_status"):
        response = client.post(reverse(f"org:{name}", kwargs=foreign), assignment_form(10))
        # Then it does not exist for her, and no credit moved in either organisation
        assert response.status_code == 404, name
    assert (figures(alpha.organisation), figures(bravo.organisation)) == before


def test_assigning_to_an_inactive_list_is_refused_and_moves_nothing(client, login, alpha):
    two = alpha.clients[1]
    client_services.update_client(client=two, is_active=False)
    login(alpha.owner)
    before = figures(alpha.organisation)
    response = client.post(page("client_assign", alpha, two), assignment_form(10))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["This client is inactive."]
    assert figures(alpha.organisation) == before


# --- taking back (G3, S5) ---------------------------------------------------------------


def test_taking_credits_back_returns_them_to_the_pool_s5(client, login, alpha):
    one = alpha.clients[0]
    assign(alpha, one, 300)
    login(alpha.owner)
    response = client.post(page("client_unassign", alpha, one), assignment_form(120))
    assert response.status_code == 302
    assert ClientAccount.objects.get(pk=one.pk).assigned_remaining == 180
    assert CreditPool.objects.get(pk=alpha.organisation.pk).assigned == 180


def test_taking_back_more_than_is_left_says_by_how_much_and_moves_nothing(client, login, alpha):
    one = alpha.clients[0]
    assign(alpha, one, 30)
    login(alpha.owner)
    before = figures(alpha.organisation)
    response = client.post(page("client_unassign", alpha, one), assignment_form(100))
    assert response.context["form"].errors == {
        "credits": ["Only 30 assigned credits are left to take back: 70 short."]
    }
    assert figures(alpha.organisation) == before


def test_take_back_is_refused_with_the_reason_in_the_serious_game_preset_g3(client, studio):
    # Given the studio's client with 120 assigned credits
    organisation, acme = studio
    log_in_studio(client)
    before = figures(organisation)
    url = reverse("org:client_unassign", kwargs={"slug": organisation.slug, "client_id": acme.pk})

    # When the owner opens the take-back page, or posts to it anyway
    shown = client.get(url)
    posted = client.post(url, assignment_form(50))

    # Then the page says why, offers no form, and nothing moved
    reason = "Assigned credits can never be moved back or to another client in this organisation."
    for response in (shown, posted):
        assert response.status_code == 200
        assert reason in response.content.decode()
        assert 'name="credits"' not in response.content.decode()
    assert figures(organisation) == before
    detail = client.get(
        reverse("org:client", kwargs={"slug": organisation.slug, "client_id": acme.pk})
    )
    assert "Take credits back" not in detail.content.decode()


# --- spending limits (D4, S5) -----------------------------------------------------------


def test_switching_a_monthly_limit_to_fixed_starts_the_used_counter_at_0_d4(client, login, alpha):
    # Given a monthly limit of 100 on the second list, which drew 30 from the pool
    two = alpha.clients[1]
    login(alpha.owner)
    url = page("client_limit", alpha, two)
    client.post(url, {"kind": "monthly", "limit": 100, "draws_from_pool": "on"})
    send_sms(two, 30)
    assert ClientAccount.objects.get(pk=two.pk).used == 30
    assert (
        '<span class="value" data-testid="limit-used">30</span>' in client.get(url).content.decode()
    )

    # When the owner switches it to a fixed limit of 100
    response = client.post(url, {"kind": "fixed", "limit": 100, "draws_from_pool": "on"})

    # Then the used counter starts again at 0
    assert response.status_code == 302
    account = ClientAccount.objects.get(pk=two.pk)
    assert (account.limit_kind, account.limit, account.used) == ("fixed", 100, 0)


def test_changing_only_the_amount_keeps_the_used_counter_d4(client, login, alpha):
    two = alpha.clients[1]
    credit_services.set_spending_limit(client=two, kind="monthly", limit=100, now=timezone.now())
    send_sms(two, 30)
    login(alpha.owner)
    client.post(
        page("client_limit", alpha, two), {"kind": "monthly", "limit": 50, "draws_from_pool": "on"}
    )
    account = ClientAccount.objects.get(pk=two.pk)
    assert (account.limit_kind, account.limit, account.used) == ("monthly", 50, 30)


def test_a_list_can_be_kept_from_drawing_on_the_pool_s5(client, login, alpha):
    two = alpha.clients[1]
    login(alpha.owner)
    client.post(page("client_limit", alpha, two), {"kind": "none", "limit": ""})
    account = ClientAccount.objects.get(pk=two.pk)
    assert (account.limit_kind, account.limit, account.draws_from_pool) == ("none", None, False)
    with pytest.raises(CreditsError):
        send_sms(two, 1)


def test_the_own_client_is_not_asked_whether_it_draws_from_the_pool(client, login, alpha):
    login(alpha.owner)
    url = page("client_limit", alpha, alpha.own)
    assert 'name="draws_from_pool"' not in client.get(url).content.decode()
    client.post(url, {"kind": "fixed", "limit": 10})
    account = ClientAccount.objects.get(pk=alpha.own.pk)
    assert (account.limit_kind, account.limit, account.draws_from_pool) == ("fixed", 10, True)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "monthly", "limit": ""},
        {"kind": "monthly", "limit": -5},
        {"kind": "fixed", "limit": 10**20},
        {"kind": "fixed", "limit": "ten"},
        {"kind": "weekly", "limit": 10},
        {},
    ],
    ids=["no-limit", "negative", "1e20", "text", "unknown-kind", "empty"],
)
def test_bad_limit_input_is_a_form_error_and_changes_nothing_x6(client, login, alpha, data):
    login(alpha.owner)
    before = figures(alpha.organisation)
    response = client.post(page("client_limit", alpha, alpha.clients[1]), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert figures(alpha.organisation) == before


def test_a_limit_of_0_is_accepted_and_stops_drawing_from_the_pool_d4(client, login, alpha):
    two = alpha.clients[1]
    login(alpha.owner)
    client.post(
        page("client_limit", alpha, two), {"kind": "fixed", "limit": 0, "draws_from_pool": "on"}
    )
    assert ClientAccount.objects.get(pk=two.pk).limit == 0
    with pytest.raises(CreditsError):
        send_sms(two, 1)


# --- words and languages ------------------------------------------------------------------


def test_the_client_pages_render_in_french(client, login, alpha):
    login(alpha.owner)
    for name in ("clients", "client_new"):
        response = client.get(page(name, alpha), headers={"accept-language": "fr"})
        assert response.status_code == 200, name
    for name in ("client", "client_edit", "client_status", "client_assign", "client_limit"):
        response = client.get(
            page(name, alpha, alpha.clients[0]), headers={"accept-language": "fr"}
        )
        assert response.status_code == 200, name
