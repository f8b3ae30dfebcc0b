"""Login protection on the portal's and the admin's login (issue 13, django-axes).

Before: 238 wrong passwords on /login/ and 242 on /admin/login/ all answered 200, then the right
one was accepted at once. Now the fifth wrong password for one username from one address locks
that pair out for 15 minutes (LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_MINUTES): a 429 page says how
long and whom to ask, and even the right password is refused until the cool-off ends or staff
unlock it in the back office. Other people, and the same person elsewhere, are not locked.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Permission
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from clients.services import logins

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
ATTEMPTS = "/admin/axes/accessattempt/"


def post_password(client, path: str, username: str, password: str, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def fail(client, path: str, username: str, times: int, **extra) -> list[int]:
    """`times` wrong passwords; the status of each answer."""
    return [
        post_password(client, path, username, "wrong", **extra).status_code for _ in range(times)
    ]


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def sam(make_user):
    return make_user("sam", password=PASSWORD)


@pytest.fixture
def staff(make_user):
    """A staff member who may read the attempts and unlock them."""

    def make(*codenames: str, username: str = "support"):
        person = make_user(username, is_staff=True)
        person.user_permissions.set(
            Permission.objects.filter(content_type__app_label="axes", codename__in=codenames)
        )
        browser = Client()
        browser.force_login(person)
        return browser

    return make


def unlock_action(browser, *attempts: AccessAttempt, follow: bool = False):
    return browser.post(
        ATTEMPTS,
        {"action": "unlock", "index": 0, "_selected_action": [a.pk for a in attempts]},
        follow=follow,
    )


# --- lock-out ----------------------------------------------------------------------------------


def test_the_fifth_wrong_password_locks_the_portal_login_and_the_right_one_is_refused(client, sam):
    """Issue 13: before, every wrong password answered 200 and the right one then logged in."""
    # given sam's account
    # when someone tries five wrong passwords for sam on /login/, then the right one
    statuses = fail(client, "/login/", "sam", 5)
    right = post_password(client, "/login/", "sam", PASSWORD)
    # then the first four are the login form again, the fifth and the right one the lock page
    assert statuses == [200, 200, 200, 200, 429]
    assert right.status_code == 429
    assert not logged_in(client)


def test_the_fifth_wrong_password_locks_the_admin_login_and_the_right_one_is_refused(
    client, make_user
):
    """Issue 13: the back office's login is protected the same way."""
    # given a superuser
    make_user("root", password=PASSWORD, is_staff=True, is_superuser=True)
    # when five wrong passwords then the right one are posted on /admin/login/
    statuses = fail(client, "/admin/login/", "root", 5)
    right = post_password(client, "/admin/login/", "root", PASSWORD)
    # then the admin is locked too
    assert statuses == [200, 200, 200, 200, 429]
    assert right.status_code == 429
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302  # to the login page


def test_the_locked_out_page_says_how_long_and_whom_to_ask(client, sam):
    """Issue 13: a clear page in the portal's style, not axes' one line of plain text."""
    # given sam locked out
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    # when sam tries again
    response = post_password(client, "/login/", "sam", PASSWORD)
    # then the page says why, for how long, and whom to ask, styled like the portal
    page = response.content.decode()
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert "Too many failed logins" in page
    assert (
        "After 5 wrong passwords, logging in with this username from your address is locked "
        "for 15 min." in page
    )
    assert "Ask the portal's support team to unlock your login" in page
    assert "/static/css/portal.css" in page
    assert 'href="/login/"' in page


def test_the_locked_out_page_is_in_french(client, sam):
    """Issue 13: the lock page in French (needs /work/briefs/fr/i13-logins.po merged)."""
    # given sam locked out
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    # when sam, reading French, tries again
    response = post_password(client, "/login/", "sam", PASSWORD, HTTP_ACCEPT_LANGUAGE="fr")
    # then the page is in French
    page = response.content.decode()
    assert response.status_code == 429
    assert "Trop d’échecs de connexion" in page
    assert "est bloquée pendant 15\u00a0min." in page
    assert "Too many failed logins" not in page


def test_the_lock_out_follows_the_limit_setting(client, sam, settings):
    """Issue 13: LOGIN_FAILURE_LIMIT (AXES_FAILURE_LIMIT) sets how many failures lock."""
    # given a limit of 3
    settings.AXES_FAILURE_LIMIT = 3
    # when three wrong passwords are tried
    statuses = fail(client, "/login/", "sam", 3)
    # then the third locks
    assert statuses == [200, 200, 429]


# --- who is locked -----------------------------------------------------------------------------


def test_another_user_from_the_same_address_is_not_locked(client, sam, make_user):
    """Issue 13: the lock-out is per (username, address): a colleague behind the same office
    address logs in."""
    # given sam locked out from 127.0.0.1, and kim
    make_user("kim", password=PASSWORD)
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    # when kim logs in from the same address
    response = post_password(client, "/login/", "kim", PASSWORD)
    # then kim is in
    assert response.status_code == 302
    assert logged_in(client)


def test_the_same_user_from_another_address_is_not_locked(client, sam):
    """Issue 13: someone guessing sam's password from elsewhere does not lock sam out."""
    # given sam locked out from 127.0.0.1
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    # when sam logs in from 10.0.0.2
    response = post_password(client, "/login/", "sam", PASSWORD, REMOTE_ADDR="10.0.0.2")
    # then sam is in
    assert response.status_code == 302
    assert logged_in(client)


def test_behind_the_proxy_each_forwarded_address_counts_apart(client, sam, settings):
    """Issue 13: behind the README's nginx every request comes from 127.0.0.1; the address
    the proxy appended to X-Forwarded-For is the one that counts (TRUSTED_PROXY_COUNT=1)."""
    # given one trusted proxy, and sam locked out from 203.0.113.7 through it
    settings.AXES_TRUSTED_PROXY_COUNT = 1
    assert fail(client, "/login/", "sam", 5, HTTP_X_FORWARDED_FOR="203.0.113.7")[-1] == 429
    # when sam logs in from 198.51.100.9 through the same proxy
    response = post_password(
        client, "/login/", "sam", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    # then sam is in, and the attempts were recorded under the client's address
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]


def test_a_client_cannot_choose_its_address_by_writing_x_forwarded_for(client, sam, settings):
    """Issue 13: what a client writes into X-Forwarded-For itself comes before what nginx
    appends; only the appended (right-most trusted) entry counts."""
    # given one trusted proxy, and sam locked out from 203.0.113.7
    settings.AXES_TRUSTED_PROXY_COUNT = 1
    assert fail(client, "/login/", "sam", 5, HTTP_X_FORWARDED_FOR="203.0.113.7")[-1] == 429
    # when the same client sends a made-up address, which nginx keeps in front of the real one
    response = post_password(
        client, "/login/", "sam", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.7"
    )
    # then it is still locked out
    assert response.status_code == 429


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(sam, settings):
    """Issue 13: with TRUSTED_PROXY_COUNT=0 (no proxy) the header is the client's own words."""
    # given no trusted proxy
    settings.AXES_TRUSTED_PROXY_COUNT = 0
    request = HttpRequest()
    request.META.update(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    # when the client's address is resolved / then it is the connection's
    assert logins.client_ip_address(request) == "192.0.2.1"


def test_a_forwarded_entry_that_is_not_an_address_falls_back_to_the_connection(settings):
    """Issue 13: a misconfigured proxy's garbage is not stored as an address (PostgreSQL's
    inet column would refuse it with a 500)."""
    # given one trusted proxy that forwarded garbage
    settings.AXES_TRUSTED_PROXY_COUNT = 1
    request = HttpRequest()
    request.META.update(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="unknown")
    # when the client's address is resolved / then it is the connection's
    assert logins.client_ip_address(request) == "127.0.0.1"


# --- the cool-off ------------------------------------------------------------------------------


def later(monkeypatch, delta: timedelta) -> None:
    """Axes stamps each request with its clock (`axes.handlers.proxy.now`); move it on."""
    moment = timezone.now() + delta
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: moment)


def test_one_minute_before_the_cool_off_ends_the_login_is_still_locked(client, sam, monkeypatch):
    """Issue 13: LOGIN_LOCKOUT_MINUTES (15) holds."""
    # given sam locked out
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    # when sam tries the right password 14 minutes later
    later(monkeypatch, timedelta(minutes=14))
    response = post_password(client, "/login/", "sam", PASSWORD)
    # then still locked
    assert response.status_code == 429
    assert not logged_in(client)


def test_after_the_cool_off_the_right_password_is_accepted_again(client, sam, monkeypatch):
    """Issue 13: the lock-out ends by itself after LOGIN_LOCKOUT_MINUTES."""
    # given sam locked out
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    # when sam tries the right password 15 minutes and a second later
    later(monkeypatch, timedelta(minutes=15, seconds=1))
    response = post_password(client, "/login/", "sam", PASSWORD)
    # then sam is in, and the failures are forgotten
    assert response.status_code == 302
    assert logged_in(client)
    assert AccessAttempt.objects.count() == 0


# --- unlock in the back office -----------------------------------------------------------------


def test_unlock_in_admin_lets_the_person_log_in_at_once(client, sam, make_user, staff):
    """Issue 13: staff with axes.delete_accessattempt unlock a login; only the selected one."""
    # given sam and kim locked out
    make_user("kim", password=PASSWORD)
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    assert fail(client, "/login/", "kim", 5)[-1] == 429
    browser = staff("view_accessattempt", "delete_accessattempt")
    # when staff unlock sam's attempts
    response = unlock_action(browser, AccessAttempt.objects.get(username="sam"), follow=True)
    # then a message says so, sam logs in at once, kim is still locked out
    assert [str(m) for m in response.context["messages"]] == [
        "Unlocked 1 login (username and address): it can log in at once."
    ]
    assert post_password(client, "/login/", "sam", PASSWORD).status_code == 302
    assert post_password(Client(), "/login/", "kim", PASSWORD).status_code == 429
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["kim"]


def test_unlock_without_the_permission_is_refused_and_changes_nothing(client, sam, staff):
    """Issue 13 (perms table): Unlock requires axes.delete_accessattempt."""
    # given sam locked out, and staff who may only read the attempts
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    attempt = AccessAttempt.objects.get(username="sam")
    browser = staff("view_accessattempt")
    # when they post the action anyway
    response = unlock_action(browser, attempt)
    # then 403, the attempt is kept and sam is still locked out
    assert response.status_code == 403
    assert list(AccessAttempt.objects.values_list("pk", "failures_since_start")) == [
        (attempt.pk, 5)
    ]
    assert post_password(client, "/login/", "sam", PASSWORD).status_code == 429


def test_the_unlock_action_is_offered_only_with_the_permission(client, sam, staff):
    """Issue 13: the attempts' action list shows "Unlock" only to whoever may run it."""
    # given an attempt
    fail(client, "/login/", "sam", 1)
    # when staff with and without the permission open the attempts
    allowed = staff("view_accessattempt", "delete_accessattempt", username="support-a")
    refused = staff("view_accessattempt", username="support-b")
    # then only the first sees it
    assert "Unlock the selected logins" in allowed.get(ATTEMPTS).content.decode()
    assert "Unlock the selected logins" not in refused.get(ATTEMPTS).content.decode()


def test_unlocking_twice_is_harmless(client, sam):
    """Issue 13: two staff unlocking the same login at once: the second forgets nothing."""
    # given sam locked out
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    # when the lock-out is lifted twice
    first = logins.unlock(logins=[("sam", "127.0.0.1")])
    second = logins.unlock(logins=[("sam", "127.0.0.1")])
    # then the first forgot the one attempt row, the second nothing
    assert (first, second) == (1, 0)


def test_forgetting_expired_attempts_keeps_the_lock_outs_still_running(client, sam, make_user):
    """Issue 13: axes' "clean up" action, now a service: only attempts past the cool-off go."""
    # given sam locked out now, and kim's failures of 16 minutes ago
    make_user("kim", password=PASSWORD)
    assert fail(client, "/login/", "sam", 5)[-1] == 429
    fail(client, "/login/", "kim", 2)
    AccessAttempt.objects.filter(username="kim").update(
        attempt_time=timezone.now() - timedelta(minutes=16)
    )
    # when the expired attempts are forgotten
    forgotten = logins.forget_expired_attempts(now=timezone.now())
    # then kim's row went and sam is still locked out
    assert forgotten == 1
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["sam"]
    assert post_password(client, "/login/", "sam", PASSWORD).status_code == 429
