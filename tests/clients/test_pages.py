import pytest
from django.http import HttpRequest

from clients import services
from clients.models import Role

pytestmark = pytest.mark.django_db


def test_after_login_a_member_of_one_organisation_lands_on_its_home(client, make_organisation):
    make_organisation("alpha", name="Alpha Data")
    response = client.post(
        "/login/", {"username": "alpha-owner", "password": "a-long-test-password"}, follow=True
    )
    assert response.redirect_chain == [("/", 302), ("/o/alpha/", 302)]
    page = response.content.decode()
    assert "Alpha Data" in page
    assert "You are owner of this organisation." in page
    assert response.context["figures"].balance == 0


def test_a_member_of_several_organisations_chooses_on_a_switcher(
    client, make_organisation, make_user
):
    person = make_user("sam")
    make_organisation("alpha", owner=person, name="Alpha Data")
    bravo = make_organisation("bravo", name="Bravo Games")
    services.add_member(organisation=bravo, user=person, role=Role.MEMBER)
    client.login(request=HttpRequest(), username="sam", password="a-long-test-password")
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/o/alpha/"' in page
    assert 'href="/o/bravo/"' in page


def test_pages_are_translated_to_french(client, make_organisation):
    make_organisation("alpha", name="Alpha Data")
    client.login(request=HttpRequest(), username="alpha-owner", password="a-long-test-password")
    response = client.get("/o/alpha/", headers={"accept-language": "fr"})
    page = response.content.decode()
    assert "Solde" in page
    assert "Vous êtes propriétaire de cette organisation." in page
