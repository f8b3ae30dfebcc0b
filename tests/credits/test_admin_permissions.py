"""Issue 13: every action and custom view of the credits back office requires the model
permission of the thing it changes (the shared table in the issue's permission brief), so a
staff member who may only read gets 403 and nothing moves."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from credits import services
from credits.models import (
    BillableAction,
    CreditPool,
    Hold,
    HoldStatus,
    LotSource,
    Quote,
    SmsRate,
)
from tests.credits.conftest import pool_of

pytestmark = pytest.mark.django_db

# perms.md, the credits rows: action name (or custom view) → what it requires.
ACTIONS = {
    (CreditPool, "adjust_credits"): {"credits.change_creditpool"},
    (CreditPool, "expire_now"): {"credits.change_creditpool"},
    (Hold, "release_holds"): {"credits.change_hold"},
    (SmsRate, "export_csv"): {"credits.view_smsrate"},
}
VIEWS = {
    (BillableAction, "try_action"): ("credits.add_consumption",),
    (SmsRate, "import_csv"): ("credits.add_smsrate", "credits.change_smsrate"),
}


def grant_permissions(user, *names: str) -> None:
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


@pytest.fixture
def staff(client, make_user):
    """A staff member logged in with exactly the permissions a test gives him."""

    def make(*permissions: str):
        user = make_user("backoffice", is_staff=True)
        grant_permissions(user, *permissions)
        client.force_login(user)
        return user

    return make


@pytest.fixture
def sms_org(make_organisation, now):
    organisation = make_organisation("texto", preset="sms")
    services.grant(organisation=organisation, credits=100, source=LotSource.PURCHASE, now=now)
    return organisation


@pytest.mark.parametrize(("admin_action", "required"), ACTIONS.items(), ids=lambda v: str(v))
def test_each_credits_admin_action_is_offered_only_with_its_permission_issue13(
    make_user, admin_action, required
):
    """issue 13: `allowed_permissions` of adjust, expire, release and export (perms.md)."""
    # given a staff member who may view every credits model, and one who also has the
    # action's own permission
    model, name = admin_action
    model_admin = admin.site._registry[model]
    viewer = make_user("viewer", is_staff=True)
    views = [f"credits.view_{m._meta.model_name}" for m in (CreditPool, Hold, SmsRate)]
    grant_permissions(viewer, *views)
    allowed = make_user("allowed", is_staff=True)
    grant_permissions(allowed, *views, *required)
    request = RequestFactory().get("/admin/")

    def offered(user) -> bool:
        request.user = type(user).objects.get(pk=user.pk)  # fresh permission cache
        return name in model_admin.get_actions(request)

    # when the admin lists the actions each may run
    # then only the one with the permission is offered it
    if required <= set(views):
        assert (offered(viewer), offered(allowed)) == (True, True)
        no_view = make_user("nothing", is_staff=True)
        assert offered(no_view) is False
    else:
        assert (offered(viewer), offered(allowed)) == (False, True)


def test_adjust_credits_without_the_permission_is_403_and_moves_nothing_issue13(
    client, staff, organisation, now
):
    # given 100 credits and a staff member who may only view pools
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    staff("credits.view_creditpool")
    # when he posts the adjust action anyway
    response = client.post(
        reverse("admin:credits_creditpool_changelist"),
        {
            "action": "adjust_credits",
            "_selected_action": [organisation.pk],
            "apply": "Adjust",
            "credits": -30,
            "reason": "Not mine to do",
        },
    )
    # then it is refused and the balance did not move
    assert response.status_code == 403
    assert pool_of(organisation) == (100, 0, 0)


def test_release_holds_needs_change_hold_even_on_a_read_only_admin_issue13(
    client, staff, make_user, organisation
):
    # given an active hold of 40 credits (the action releases at the real time), and a staff
    # member who may only view holds
    now = timezone.now()
    services.grant(organisation=organisation, credits=100, source="purchase", now=now)
    own = organisation.clients.get(kind="own")
    reservation = services.hold(client=own, credits=40, expires_at=now + timedelta(days=1), now=now)
    staff("credits.view_hold")
    url = reverse("admin:credits_hold_changelist")
    data = {"action": "release_holds", "_selected_action": [reservation.pk]}
    # when he posts "release"
    refused = client.post(url, data)
    # then 403, and the hold is still active with its credits held
    assert refused.status_code == 403
    assert Hold.objects.get(pk=reservation.pk).status == HoldStatus.ACTIVE
    assert pool_of(organisation) == (100, 40, 0)
    # and when a member of "Ledger corrections" (view and change holds) posts it
    corrector = make_user("corrector", is_staff=True)
    grant_permissions(corrector, "credits.view_hold", "credits.change_hold")
    client.force_login(corrector)
    released = client.post(url, data)
    # then the hold is released (ReadOnlyAdmin's "no change" does not hide the action)
    assert released.status_code == 302
    assert Hold.objects.get(pk=reservation.pk).status == HoldStatus.RELEASED
    assert pool_of(organisation) == (100, 0, 0)


def test_try_this_action_without_add_consumption_is_403_and_quotes_nothing_issue13(
    client, staff, sms_org
):
    # given a staff member who may view and even change the rate card, but not spend
    staff("credits.view_billableaction", "credits.change_billableaction")
    action = BillableAction.objects.get(organisation=sms_org, code="sms")
    url = reverse("admin:credits_billableaction_try", args=[action.pk])
    own = sms_org.clients.get(kind="own")
    # when he opens and posts "Try this action"
    opened = client.get(url)
    posted = client.post(url, {"client": own.pk, "p_country": "FR", "p_text": "Hi"})
    # then both are refused and no quote was recorded
    assert (opened.status_code, posted.status_code) == (403, 403)
    assert Quote.objects.count() == 0


def test_try_this_action_with_add_consumption_quotes_issue13(client, staff, sms_org):
    # given a member of "Rate cards" (credits.add_consumption)
    staff("credits.view_billableaction", "credits.add_consumption")
    action = BillableAction.objects.get(organisation=sms_org, code="sms")
    own = sms_org.clients.get(kind="own")
    # when he tries an SMS to France
    response = client.post(
        reverse("admin:credits_billableaction_try", args=[action.pk]),
        {"client": own.pk, "p_country": "FR", "p_text": "Hi"},
    )
    # then the quote is shown (1 part at 1 credit)
    assert response.status_code == 200
    assert Quote.objects.get().credits == 1


@pytest.mark.parametrize(
    "permissions",
    [
        (),
        ("credits.view_smsrate",),
        ("credits.view_smsrate", "credits.add_smsrate"),
        ("credits.view_smsrate", "credits.change_smsrate"),
    ],
    ids=["none", "view", "view+add", "view+change"],
)
def test_importing_sms_rates_needs_add_and_change_smsrate_issue13(
    client, staff, sms_org, permissions
):
    # given the SMS preset's rates and a staff member missing add or change on SMS rates
    before = sorted(SmsRate.objects.values_list("country", "credits_per_segment"))
    staff(*permissions)
    url = reverse("admin:credits_smsrate_import")
    csv = "country,name,calling_code,credits_per_segment\nFR,France,33,9\n"
    # when he opens the import page and posts a file
    opened = client.get(url)
    posted = client.post(
        url, {"organisation": sms_org.pk, "file": SimpleUploadedFile("r.csv", csv.encode())}
    )
    # then both are refused and no rate changed
    assert (opened.status_code, posted.status_code) == (403, 403)
    assert sorted(SmsRate.objects.values_list("country", "credits_per_segment")) == before


def test_the_import_link_shows_and_works_with_add_and_change_smsrate_issue13(
    client, staff, make_user, sms_org
):
    # given a staff member who may only view SMS rates
    staff("credits.view_smsrate")
    changelist = reverse("admin:credits_smsrate_changelist")
    import_url = reverse("admin:credits_smsrate_import")
    # when he opens the rates' list
    # then it offers no import
    assert import_url not in client.get(changelist).content.decode()
    # and when a member of "Rate cards" (view, add, change SMS rates) opens it and imports
    member = make_user("ratecards", is_staff=True)
    grant_permissions(
        member, "credits.view_smsrate", "credits.add_smsrate", "credits.change_smsrate"
    )
    client.force_login(member)
    assert import_url in client.get(changelist).content.decode()
    csv = "country,name,calling_code,credits_per_segment\nFR,France,33,9\n"
    response = client.post(
        import_url,
        {"organisation": sms_org.pk, "file": SimpleUploadedFile("r.csv", csv.encode())},
    )
    # then France costs 9 credits a part now
    assert response.status_code == 302
    assert SmsRate.objects.get(organisation=sms_org, country="FR").credits_per_segment == 9


def test_the_custom_views_declare_their_permissions_issue13():
    """issue 13: the walker of the admin reads `required_permissions` off each custom view."""
    # given the registered credits admins
    # when their custom views are read
    declared = {
        (model, name): getattr(admin.site._registry[model], name).required_permissions
        for model, name in VIEWS
    }
    # then each declares exactly the permissions of perms.md
    assert declared == VIEWS
