"""The Content-Security-Policy in Chromium (issue 13): every page of an organisation, the login
page, the styled error pages, the API's docs and the admin run under the policy with no
violation, and each answer carries the policy.

The policy forbids inline scripts, inline styles and `style="…"` attributes, so a page that
relied on one breaks silently in a browser (a script that does not run, a style that does not
apply): only the browser's `securitypolicyviolation` events and console errors show it. The
pages are enumerated from the URL conf and the admin's registry, so a new page is covered
without touching this file; a new page whose URL takes an argument this file does not know
fails the test until it learns how to find one.
"""

import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.utils import timezone

import config.urls
from api.models import ApiKey
from billing import services as billing
from clients import services as client_services
from clients.models import Client, ClientKind, Invitation, Membership, Organisation, Role
from credits.models import BillableAction, Consumption, Quote
from demo.api_keys import seed_api_keys
from demo.catalogue import set_up_billing
from demo.webhooks import seed_webhooks
from tests.browser.conftest import log_in
from tests.portal.conftest import PASSWORD, make_portal  # noqa: F401 (a fixture)
from webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The policy settings.CONTENT_SECURITY_POLICY gives, directive by directive (django-csp
# writes the directives in no fixed order).
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str | None) -> dict[str, str]:
    """A Content-Security-Policy header as {directive: sources}."""
    pairs = (part.strip().split(" ", 1) for part in (header or "").split(";") if part.strip())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


# Collected in the page from its first byte: violations fire as the page parses and runs.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile}:${event.lineNumber} ${event.sample}`
  );
});
"""

# Organisation pages that answer with a file, not a page (a browser downloads them).
DOWNLOADS = {"activity_csv", "activity_xlsx", "usage_xlsx", "invoice_pdf"}
ADMIN_DOWNLOADS = {"billing_invoice_pdf"}
STANDARD_ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change")
# Admin actions that answer with a page of their own before they act (besides Django's
# delete_selected confirmation, taken from the first model that offers it).
ASKING_ACTIONS = {"adjust_credits", "void_with_credit_note"}


def boom(request):
    raise RuntimeError("A deliberate failure, to show the styled 500 page.")


# The site's URLs plus one that fails, for the 500 page (the test points ROOT_URLCONF here).
urlpatterns = [path("csp-test-500/", boom), *config.urls.urlpatterns]
handler404 = config.urls.handler404
handler500 = config.urls.handler500


class Browser:
    """A Chromium page that records every Content-Security-Policy violation it meets."""

    def __init__(self, page, live_server) -> None:
        self.page = page
        self.base = live_server.url
        self.console: list[str] = []
        self.violations: dict[str, list[str]] = {}
        self.visited = 0
        page.context.add_init_script(LISTEN)
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str, *, status: int = 200) -> None:
        """Open `url`, check its status and its policy header, and keep its violations."""
        self.console.clear()
        response = self.page.goto(self.base + url, wait_until="load")
        self._check(url, response, status)

    def run_action(self, changelist: str, action: str) -> None:
        """Run an admin action on the first row of a change list, through its form, and check
        the page it answers with (an action's own form, a confirmation)."""
        self.visit(changelist)
        self.page.locator('input[name="_selected_action"]').first.check()
        self.page.select_option('select[name="action"]', action)
        self.console.clear()
        with self.page.expect_navigation(wait_until="load") as navigation:
            self.page.click('button[name="index"]')
        self._check(f"{changelist} {action}", navigation.value, 200)

    def _check(self, url: str, response, status: int) -> None:
        assert response is not None, url
        assert response.status == status, f"{url} answered {response.status}"
        assert directives(response.headers.get("content-security-policy")) == POLICY, url
        # Violations are reported in a task of their own: let the page's start-up (htmx's
        # DOMContentLoaded, its first requests) run before reading them.
        self.page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")
        found = self.page.evaluate("window.__cspViolations") + self.console
        if found:
            self.violations[url] = found
        self.visited += 1

    def report(self) -> str:
        """The violations, one line per page, for the assertion's message."""
        return "\n".join(f"{url}: {found[0][:300]}" for url, found in self.violations.items())


@pytest.fixture
def browser_page(page, live_server) -> Browser:
    return Browser(page, live_server)


def org_patterns() -> Iterator[URLPattern]:
    """Every page under /o/<slug>/, whichever app owns it (config.urls.organisation_pages)."""

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif namespace == "org":
                yield pattern

    yield from walk(get_resolver().url_patterns)


@pytest.fixture
def furnished(make_portal, catalogue):  # noqa: F811 (a fixture)
    """An organisation with a row behind every page: make_portal's people, clients, quotes and
    consumptions, plus a card, a purchase and its invoice, API keys, a webhook endpoint with
    deliveries and an invitation waiting (the demo has them all, but takes 30 s to load)."""
    now = timezone.now()
    portal = make_portal("csp")
    organisation = portal.organisation
    set_up_billing(organisation, None, enterprise=False, now=now)
    billing.purchase(
        organisation=organisation, credits=100, method="card", actor=portal.owner, now=now
    )
    seed_api_keys(organisation, portal.owner, now)
    seed_webhooks(organisation, now)
    client_services.invite_member(
        organisation=organisation,
        email="new.person@csp.example",
        role=Role.MEMBER,
        client=None,
        invited_by=portal.owner,
        link_base="http://testserver",
        now=now,
    )
    return portal


def org_arguments(organisation: Organisation) -> dict[str, object]:
    """One value for each argument the organisation's URLs take, from the demo's rows."""
    pending = Invitation.objects.filter(organisation=organisation, accepted_at__isnull=True)
    rows = {
        "slug": organisation.slug,
        "code": BillableAction.objects.filter(organisation=organisation)
        .values_list("code", flat=True)
        .first(),
        "quote_id": Quote.objects.filter(organisation=organisation)
        .values_list("pk", flat=True)
        .last(),
        "consumption_id": Consumption.objects.filter(organisation=organisation)
        .values_list("pk", flat=True)
        .first(),
        "client_id": Client.objects.filter(organisation=organisation)
        .exclude(kind=ClientKind.OWN)
        .values_list("pk", flat=True)
        .first(),
        "membership_id": Membership.objects.filter(organisation=organisation)
        .exclude(role=Role.OWNER)
        .values_list("pk", flat=True)
        .first(),
        "invitation_id": pending.values_list("pk", flat=True).first(),
        "purchase_id": organisation.purchases.values_list("pk", flat=True).first(),
        "key_id": ApiKey.objects.filter(organisation=organisation)
        .values_list("pk", flat=True)
        .first(),
        "endpoint_id": Endpoint.objects.filter(organisation=organisation)
        .values_list("pk", flat=True)
        .first(),
        "delivery_id": Delivery.objects.filter(endpoint__organisation=organisation)
        .values_list("pk", flat=True)
        .first(),
    }
    missing = [name for name, value in rows.items() if value is None]
    assert not missing, f"{organisation.slug} has no row for {missing}"
    return rows


def org_urls(organisation: Organisation) -> list[str]:
    arguments = org_arguments(organisation)
    urls = []
    for pattern in org_patterns():
        if pattern.name in DOWNLOADS:
            continue
        unknown = [name for name in pattern.pattern.converters if name not in arguments]
        assert not unknown, f"org:{pattern.name} takes {unknown}: teach org_arguments to find one"
        kwargs = {name: arguments[name] for name in pattern.pattern.converters}
        urls.append(reverse(f"org:{pattern.name}", kwargs={"slug": organisation.slug, **kwargs}))
    return urls


def test_every_page_of_an_organisation_runs_under_the_policy_with_no_violation_issue_13(
    browser_page, live_server, furnished
):
    """Issue 13: every `org:` page, as the organisation's owner (who sees them all), answers
    with the Content-Security-Policy and Chromium reports no violation on any of them."""
    # Given an organisation with a row behind every page, its owner logged in
    urls = org_urls(furnished.organisation)
    log_in(browser_page.page, live_server, furnished.owner.get_username(), PASSWORD)

    # When she opens each of its pages
    for url in urls:
        browser_page.visit(url)

    # Then none broke the policy
    assert browser_page.violations == {}, browser_page.report()
    assert browser_page.visited == len(urls) >= 45


def test_login_and_the_styled_error_pages_run_under_the_policy_issue_13(
    browser_page,
    live_server,
    settings,
    make_portal,  # noqa: F811 (a fixture)
):
    """Issue 13: the login page, the 403 (a role without the right), the 404 and the 500 pages
    answer with the Content-Security-Policy, and Chromium reports no violation."""
    # Given a portal whose plain member may not buy, and a URL that fails
    settings.ROOT_URLCONF = __name__
    portal = make_portal("csp")

    # When a visitor opens the login page, and the member logs in and meets each error page
    browser_page.visit("/login/")
    log_in(browser_page.page, live_server, portal.member.get_username(), PASSWORD)
    browser_page.visit("/o/csp/buy/", status=403)
    browser_page.visit("/o/no-such-organisation/", status=404)
    browser_page.visit("/csp-test-500/", status=500)

    # Then none broke the policy, and each showed the portal's own page
    assert browser_page.violations == {}, browser_page.report()
    assert browser_page.page.locator(".error-page .code").inner_text() == "500"


def test_the_api_docs_run_under_the_policy_issue_13(browser_page):
    """Issue 13: Swagger UI at /api/docs/ draws the API's operations with no inline script or
    style (its start-up script is a separate file), so Chromium reports no violation."""
    # When a developer opens the API's docs
    browser_page.visit("/api/docs/")

    # Then Swagger UI drew the operations, and nothing broke the policy
    browser_page.page.locator(".opblock").first.wait_for()
    assert browser_page.page.locator(".opblock").count() >= 20
    assert browser_page.violations == {}, browser_page.report()


def admin_urls(superuser) -> list[str]:
    """The admin's index, every changelist, every add page the superuser may open, one change
    page per model that has rows, and every custom view of a model admin."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}"
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        urls.append(reverse(f"admin:{prefix}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"admin:{prefix}_add"))
        if first is not None:
            urls.append(reverse(f"admin:{prefix}_change", args=[first]))
        for pattern in model_admin.get_urls():
            name = pattern.name or ""
            custom = name.startswith(prefix) and not name.endswith(STANDARD_ADMIN_VIEWS)
            if not custom or name in ADMIN_DOWNLOADS:
                continue
            arguments = list(pattern.pattern.converters)
            if arguments and first is None:
                continue
            urls.append(reverse(f"admin:{name}", args=[first] * len(arguments)))
    return urls


def action_pages(superuser) -> list[tuple[str, str]]:
    """(change list, action) for each action that shows a page of its own, on a model with
    rows: ours, and one delete confirmation."""
    request = RequestFactory().post("/admin/")
    request.user = superuser
    pages, deleting = [], None
    for model, model_admin in admin.site._registry.items():
        if not model._default_manager.exists():
            continue
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        actions = model_admin.get_actions(request)
        pages += [(changelist, name) for name in actions if name in ASKING_ACTIONS]
        if deleting is None and "delete_selected" in actions:
            deleting = (changelist, "delete_selected")
    assert deleting is not None
    return [*pages, deleting]


def test_the_admin_runs_under_the_policy_issue_13(browser_page, live_server, furnished):
    """Issue 13: as a superuser, the admin's index, every changelist and add page, a change
    page of each model with rows, the custom views (try an action, import SMS rates, deferred
    revenue, passwords) and the actions' own pages (adjust credits, void, delete) answer with
    the Content-Security-Policy, and Chromium reports no violation."""
    # Given an organisation with a row behind every page, and a superuser logged in to the admin
    superuser = get_user_model().objects.create_superuser("csp-staff", "", PASSWORD)
    urls, actions = admin_urls(superuser), action_pages(superuser)
    assert len(actions) == 3
    page = browser_page.page
    browser_page.visit("/admin/login/")
    page.fill("#id_username", "csp-staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))

    # When they open each page, and the pages of the actions that ask before they act
    for url in urls:
        browser_page.visit(url)
    for changelist, action in actions:
        browser_page.run_action(changelist, action)

    # Then none broke the policy
    assert browser_page.violations == {}, browser_page.report()
    assert browser_page.visited == 1 + len(urls) + 2 * len(actions)
    assert len(urls) >= 70
