# ruff: noqa: F811  (make_portal is a fixture imported from tests.portal.conftest)
"""Issue 13 (K1, X5): every admin action and custom admin view requires the model permission
it changes (the table of /work/briefs/i13/perms.md, mirrored in EXPECTED_* below).

The walker reads what `django.contrib.admin.site` registers (all apps: credits, billing,
clients, api, webhooks, auth, axes), so a new action or custom view must be added to the
expectations here, or `test_every_action_and_custom_view_is_expected` fails. For each, a staff
member without the permission (holding every `view_*` permission but the required ones, so
that only the action's own permission is missing; and one holding no permission at all)
gets 403 and nothing changes (every table's rows, compared before and after); one holding it
gets through.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import URLPattern, reverse
from django.utils import timezone

from api import services as api_services
from billing import services as billing_services
from billing.models import BillingProfile
from clients.services import members as member_services
from credits import services as credit_services
from tests.portal.conftest import make_portal  # noqa: F401  (a fixture)
from tests.webhooks.makers import delivery_id

pytestmark = pytest.mark.django_db

# (model label, action name) → the permissions it requires. `delete_selected` is everywhere
# and requires `<app>.delete_<model>` (DELETE_SELECTED below).
EXPECTED_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("credits.CreditPool", "adjust_credits"): {"credits.change_creditpool"},
    ("credits.CreditPool", "expire_now"): {"credits.change_creditpool"},
    ("credits.Hold", "release_holds"): {"credits.change_hold"},
    ("credits.SmsRate", "export_csv"): {"credits.view_smsrate"},
    ("billing.Invoice", "mark_paid"): {"billing.change_invoice"},
    ("billing.Invoice", "void_with_credit_note"): {"billing.change_invoice"},
    ("billing.Invoice", "regenerate_pdf"): {"billing.change_invoice"},
    ("billing.Purchase", "finish_now"): {"billing.change_purchase"},
    ("billing.Subscription", "cancel_at_period_end"): {"billing.change_subscription"},
    ("clients.Invitation", "send_again"): {"clients.change_invitation"},
    ("clients.Invitation", "cancel"): {"clients.change_invitation"},
    ("api.ApiKey", "revoke"): {"api.change_apikey"},
    ("webhooks.Endpoint", "turn_off"): {"webhooks.change_endpoint"},
    ("webhooks.Endpoint", "turn_on"): {"webhooks.change_endpoint"},
    ("webhooks.Delivery", "replay"): {"webhooks.change_delivery"},
    ("axes.AccessAttempt", "unlock"): {"axes.delete_accessattempt"},
    ("axes.AccessAttempt", "cleanup_expired_attempts"): {"axes.delete_accessattempt"},
}

# (model label, url name) → the permissions its custom view requires.
EXPECTED_VIEWS: dict[tuple[str, str], set[str]] = {
    ("billing.Invoice", "billing_invoice_pdf"): {"billing.view_invoice"},
    ("billing.Purchase", "billing_deferred_revenue"): {"billing.view_invoice"},
    ("credits.BillableAction", "credits_billableaction_try"): {"credits.add_consumption"},
    ("credits.SmsRate", "credits_smsrate_import"): {
        "credits.add_smsrate",
        "credits.change_smsrate",
    },
    ("auth.User", "auth_user_password_change"): {"auth.change_user"},
}

STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


def _label(model) -> str:
    return model._meta.label


def delete_permission(model) -> set[str]:
    return {f"{model._meta.app_label}.delete_{model._meta.model_name}"}


def registered_actions() -> list[tuple[object, str]]:
    return [
        (model, name)
        for model, model_admin in admin.site._registry.items()
        for _func, name, _description in model_admin._get_base_actions()
    ]


def custom_views() -> list[tuple[object, URLPattern]]:
    """Each admin's own URLs beyond Django's standard ones (and the unnamed redirect)."""
    found = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        standard = {f"{opts.app_label}_{opts.model_name}_{view}" for view in STANDARD_VIEWS}
        for pattern in model_admin.get_urls():
            if pattern.name is None or pattern.name in standard:
                continue
            found.append((model, pattern))
    return found


def required_for_action(model, name: str) -> set[str]:
    if name == "delete_selected":
        return delete_permission(model)
    return EXPECTED_ACTIONS[(_label(model), name)]


# --- One of everything ------------------------------------------------------------------


@pytest.fixture
def everything(make_portal, make_user, catalogue, mailoutbox):
    """An organisation with a pool, lots, holds, consumptions, quotes, an assignment, an
    invoice and its purchase, SMS rates, an API key, a webhook endpoint and delivery, an
    invitation, an access attempt and staff's own groups."""
    from axes.models import AccessAttempt

    now = timezone.now()
    portal = make_portal("alpha", preset="sms")
    credit_services.hold(
        client=portal.clients[0], credits=5, expires_at=now + timedelta(hours=1), now=now
    )
    credit_services.assign(
        organisation=portal.organisation, client=portal.clients[1], credits=10, now=now
    )
    BillingProfile.objects.filter(pk=billing_services.profile_of(portal.organisation).pk).update(
        enterprise_terms=True, legal_name="Alpha SAS", email="accounts@alpha.example"
    )
    billing_services.purchase(
        organisation=portal.organisation, credits=100, method="enterprise_terms", now=now
    )
    api_services.create_key(organisation=portal.organisation, name="CRM", scope="write", now=now)
    delivery_id(portal)
    member_services.record_invitation(
        organisation=portal.organisation,
        email="newcomer@test.example",
        role="member",
        client=None,
        invited_by=portal.owner,
        link_base="http://testserver",
        now=now,
    )
    AccessAttempt.objects.create(
        username="alpha-owner",
        ip_address="203.0.113.9",
        user_agent="test",
        failures_since_start=5,
        get_data="",
        post_data="",
        http_accept="*/*",
        path_info="/login/",
    )
    return portal


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table but the sessions' (each request touches its own): what an
    action could change, pools' balances and invoices' statuses included."""
    rows = {}
    for model in apps.get_models():
        if model._meta.label in ("sessions.Session",):
            continue
        fields = [f.attname for f in model._meta.concrete_fields]
        rows[model._meta.label] = list(model._base_manager.order_by("pk").values_list(*fields))
    return rows


def staff_with(make_user, name: str, permissions) -> object:
    user = make_user(name, is_staff=True)
    wanted = set(permissions)
    granted = [
        p
        for p in Permission.objects.select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" in wanted
    ]
    user.user_permissions.set(granted)
    return user


def all_view_permissions() -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type").filter(
            codename__startswith="view_"
        )
    }


def a_row(model):
    return model._base_manager.order_by("pk").first()


def post_action(client, model, name: str):
    opts = model._meta
    row = a_row(model)
    return client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        {"action": name, "index": "0", "_selected_action": [row.pk if row else 0]},
    )


def view_url(model, pattern: URLPattern) -> str:
    row = a_row(model)
    kwargs = dict.fromkeys(pattern.pattern.converters, row.pk)
    return reverse(f"admin:{pattern.name}", kwargs=kwargs)


# --- The expectations cover everything registered ---------------------------------------


def test_every_action_and_custom_view_is_expected_issue_13():
    """Issue 13: a new admin action or custom view must say what it requires (here)."""
    # given every admin registered
    # when their actions and custom views are listed
    actions = {(_label(m), n) for m, n in registered_actions() if n != "delete_selected"}
    views = {(_label(m), p.name) for m, p in custom_views()}
    # then each is in the expectations, and each expectation is still registered
    assert actions == set(EXPECTED_ACTIONS)
    assert views == set(EXPECTED_VIEWS)


# --- Without the permission: 403, nothing changed --------------------------------------


def _missing_cases():
    cases = [
        pytest.param("action", label, name, id=f"{label}:{name}")
        for label, name in sorted({(_label(m), n) for m, n in registered_actions()})
    ]
    cases += [
        pytest.param("view", label, name, id=f"{label}:{name}")
        for label, name in sorted({(_label(m), p.name) for m, p in custom_views()})
    ]
    return cases


def _model(label: str):
    return apps.get_model(label)


def _pattern(model, name: str) -> URLPattern:
    return next(p for m, p in custom_views() if m is model and p.name == name)


@pytest.mark.parametrize(("kind", "label", "name"), _missing_cases())
def test_staff_without_the_permission_get_403_and_nothing_changes_issue_13(
    client, make_user, everything, kind, label, name
):
    """Issue 13 (X5): every action and custom view, as staff who may read everything but
    lack its own permission, and as staff with no permission at all."""
    model = _model(label)
    required = (
        required_for_action(model, name) if kind == "action" else EXPECTED_VIEWS[(label, name)]
    )
    readers = staff_with(make_user, "reader", all_view_permissions() - required)
    nobody = staff_with(make_user, "nobody", [])
    for person in (readers, nobody):
        # given staff without the permission, and one of everything
        client.force_login(person)
        before = snapshot()
        # when they run the action on real rows, or open and post to the custom view
        if kind == "action":
            answers = [post_action(client, model, name)]
        else:
            url = view_url(model, _pattern(model, name))
            answers = [client.get(url), client.post(url, {})]
        # then each answer is 403, and no row of any table changed
        assert [a.status_code for a in answers] == [403] * len(answers), person.username
        assert snapshot() == before, person.username


# --- With the permission: it works -----------------------------------------------------


def _never_deletable(model) -> bool:
    """Rows that no one deletes in admin (ReadOnlyAdmin, kept for good)."""
    request = RequestFactory().get("/")
    request.user = type("Superuser", (), {"has_perm": lambda *a, **k: True, "is_active": True})()
    return not admin.site._registry[model].has_delete_permission(request)


@pytest.mark.parametrize(("kind", "label", "name"), _missing_cases())
def test_staff_with_the_permission_get_through_issue_13(
    client, make_user, everything, kind, label, name
):
    """Issue 13 (K1): the same action or view, as staff holding its permission (and every
    `view_*`): not refused. Deleting rows that admin never deletes stays refused."""
    model = _model(label)
    required = (
        required_for_action(model, name) if kind == "action" else EXPECTED_VIEWS[(label, name)]
    )
    # given staff with the permission
    client.force_login(staff_with(make_user, "entitled", all_view_permissions() | required))
    # when they run the action, or open the custom view
    if kind == "action":
        status = post_action(client, model, name).status_code
    else:
        status = client.get(view_url(model, _pattern(model, name))).status_code
    # then it answers (the action's page, its file or its redirect), not 403
    if kind == "action" and name == "delete_selected" and _never_deletable(model):
        assert status == 403
    else:
        assert status in (200, 302), status
