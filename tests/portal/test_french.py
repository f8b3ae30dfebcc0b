"""Every page of the portal in French (issue 10, item 9: "every string in French").

The French catalogue (locale/fr/LC_MESSAGES/django.po) is read by a small parser here. It must
have no entry of ours untranslated or fuzzy, and every string marked in our templates and
modules must be in it (a string added without running makemessages is caught too).

Then every page of an organisation, found from the URL configuration as the tenancy test finds
them, is opened with `Accept-Language: fr` by an owner and by a member tied to one client, for
organisations of each preset (lists, clients, sub-accounts, teams, departments), with a few
bad inputs to show the forms' errors; so are the pages outside an organisation (login, the
switcher, an invitation, 404, 403, the CSRF and server error pages). What a person reads (the
text, the attributes shown or read aloud, the CSV and Excel exports) must hold none of our
English phrases: the catalogue's msgids of two words or more that French writes differently
(single words such as "Total" or "Client" are the same in both languages). The organisation's
own data (its action names, clients, people) is not ours to translate and is left out.
"""

import ast
import html
import io
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation.template import templatize

from clients.models import Organisation, Role
from clients.services.members import add_member, invite_member, record_invitation
from credits.models import BillableAction, SmsRate
from tests.portal.conftest import PASSWORD, Portal
from tests.portal.test_tenancy import fill, organisation_routes

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)
CATALOGUE = BASE / "locale" / "fr" / "LC_MESSAGES" / "django.po"
OUR_APPS = ("billing", "clients", "config", "credits", "demo")
OUR_SOURCES = (*(f"{app}/" for app in OUR_APPS), "templates/")
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}
# One organisation of each preset: every word for clients, and every kind of price rule.
PRESETS = ["sms", "serious_game", "translation", "data_provider", "crm"]


# --- the catalogue ---------------------------------------------------------------------------


@dataclass
class Entry:
    context: str | None = None
    msgid: str = ""
    plural: str | None = None
    translations: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def ours(self) -> bool:
        return any(reference.startswith(OUR_SOURCES) for reference in self.references)

    @property
    def untranslated(self) -> bool:
        forms = 1 if self.plural is None else 2
        return len(self.translations) < forms or not all(self.translations)

    def english_and_french(self) -> list[tuple[str, str]]:
        english = [self.msgid] if self.plural is None else [self.msgid, self.plural]
        return list(zip(english, self.translations, strict=False))


def read_catalogue(path: Path = CATALOGUE) -> list[Entry]:
    """The entries of a .po file, without its header and its obsolete (#~) entries."""
    entries: list[Entry] = []
    entry, last = Entry(), ""

    def close() -> None:
        nonlocal entry, last
        if entry.msgid:
            entries.append(entry)
        entry, last = Entry(), ""

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            close()
        elif line.startswith("#:"):
            entry.references += line[2:].split()
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            _set(entry, last, ast.literal_eval(line), append=True)
        else:
            last, _space, text = line.partition(" ")
            _set(entry, last, ast.literal_eval(text), append=False)
    close()
    return entries


def _set(entry: Entry, keyword: str, text: str, *, append: bool) -> None:
    if keyword.startswith("msgstr"):
        if append:
            entry.translations[-1] += text
        else:
            entry.translations.append(text)
        return
    name = {"msgctxt": "context", "msgid": "msgid", "msgid_plural": "plural"}[keyword]
    setattr(entry, name, (getattr(entry, name) or "") + text if append else text)


# --- what our sources mark for translation ----------------------------------------------------

_LITERAL = r"""u?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_CALL = re.compile(rf"\b(n?p?gettext)\(\s*({_LITERAL}(?:\s*,\s*{_LITERAL})*)")
_TRANSLATING = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}


def _key(function: str, texts: list[str]) -> tuple[str | None, str] | None:
    if function.startswith(("pgettext", "npgettext")):
        return (texts[0], texts[1]) if len(texts) >= 2 else None
    return (None, texts[0]) if texts else None


def marked_in_templates() -> set[tuple[str | None, str]]:
    """(context, msgid) of every string our templates mark, found as makemessages finds them."""
    marked = set()
    for path in sorted((BASE / "templates").rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        for call in _CALL.finditer(templatize(path.read_text(encoding="utf-8"), origin=str(path))):
            texts = [ast.literal_eval(text) for text in re.findall(_LITERAL, call.group(2))]
            if key := _key(call.group(1), texts):
                marked.add(key)
    return marked


def marked_in_modules() -> set[tuple[str | None, str]]:
    """(context, msgid) of every constant our modules pass to gettext and its kin."""
    marked = set()
    for app in OUR_APPS:
        for path in sorted((BASE / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                function = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
                if function not in _TRANSLATING:
                    continue
                texts = []
                for argument in node.args:
                    if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                        break
                    texts.append(argument.value)
                if key := _key(function, texts):
                    marked.add(key)
    return marked


# --- English phrases in what a person reads ---------------------------------------------------

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}")
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")


@dataclass(frozen=True)
class Phrase:
    english: str
    longest: str  # its longest literal piece: a quick test before the pattern
    pattern: re.Pattern


def _phrase(english: str) -> Phrase | None:
    text = " ".join(_TAG.sub(" ", english).split())
    pieces = [piece.strip() for piece in _PLACEHOLDER.split(text)]
    pieces = [piece for piece in pieces if piece]
    if len(_WORD.findall(" ".join(pieces))) < 2:
        return None
    # Placeholders at either end match nothing in particular: the pieces between must follow.
    pattern = r".{0,200}?".join(r"\s*".join(map(re.escape, piece.split())) for piece in pieces)
    return Phrase(english, max(pieces, key=len), re.compile(pattern))


@cache
def english_phrases() -> tuple[Phrase, ...]:
    """Our msgids that French says otherwise, of two words or more."""
    phrases = {}
    for entry in read_catalogue():
        if not entry.ours:
            continue
        for english, french in entry.english_and_french():
            if english != french and english not in phrases and (phrase := _phrase(english)):
                phrases[english] = phrase
    return tuple(phrases.values())


def english_in(text: str) -> list[str]:
    return [
        phrase.english
        for phrase in english_phrases()
        if phrase.longest in text and phrase.pattern.search(text)
    ]


class _Reader(HTMLParser):
    """The text of a page as a person reads it, with the attributes shown on hover or read
    aloud; scripts and styles left out."""

    SHOWN = {"title", "placeholder", "aria-label", "alt", "data-confirm", "data-one", "data-many"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        self.parts += [" ", *(value for name, value in attrs if name in self.SHOWN and value)]
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def readable(response: HttpResponseBase) -> str:
    """What a person reads of an answer: a page's text, or the cells of an export."""
    kind = response.get("Content-Type", "")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if "spreadsheetml" in kind:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        cells = [sheet.title for sheet in book.worksheets]
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                cells += [value for value in row if isinstance(value, str)]
        return " | ".join(cells)
    if "application/pdf" in kind:  # an invoice: read as its reader would
        return subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
        ).stdout.decode()
    text = content.decode("utf-8-sig")
    if "text/csv" in kind:
        return text.replace(",", " , ")
    return page_text(text)


def page_text(page: str) -> str:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    return " ".join(html.unescape(" ".join(reader.parts)).split())


def without_data(text: str, data: set[str]) -> str:
    """The organisation's own words (its action names, clients, people) are not ours."""
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ¦ ")
    return text


def data_of(portal: Portal) -> set[str]:
    organisation = portal.organisation
    values = {organisation.name}
    for action in BillableAction.objects.filter(organisation=organisation):
        values |= {action.name, action.category, action.description}
    values |= set(SmsRate.objects.filter(organisation=organisation).values_list("name", flat=True))
    values |= {client.name for client in [portal.own, *portal.clients]}
    for user in (portal.owner, portal.admin, portal.member, portal.tied):
        values |= {user.get_username(), user.get_full_name(), user.email}
    return {value for value in values if value}


# --- walking the pages ---------------------------------------------------------------------------


def _bad_inputs(portal: Portal) -> Iterator[tuple[str, str, dict]]:
    """(method, url, data) showing the forms' and filters' errors; none of them moves anything."""
    slug, client = portal.organisation.slug, portal.clients[0].pk
    code = portal.quotes[0].action.code
    activity, usage = reverse("org:activity", args=[slug]), reverse("org:usage", args=[slug])
    rates = reverse("org:rates", args=[slug])
    yield "get", f"{activity}?date_from=2030-01-02&date_to=2030-01-01", {}
    yield "get", f"{activity}?cursor=not-a-cursor", {}
    yield "get", f"{activity}?member={portal.admin.pk}&kind=hold", {}
    yield "get", f"{activity}?totals=1", {}
    yield "get", f"{usage}?month=not-a-month", {}
    yield "get", f"{usage}?date_from=1900-01-01", {}
    yield "get", f"{rates}?q=nothing-matches-this", {}
    yield "post", reverse("org:client_new", args=[slug]), {"name": ""}
    yield "post", reverse("org:client_assign", args=[slug, client]), {"credits": "0"}
    yield "post", reverse("org:client_unassign", args=[slug, client]), {"credits": "many"}
    yield "post", reverse("org:client_limit", args=[slug, client]), {"kind": "monthly"}
    yield "post", reverse("org:member_invite", args=[slug]), {"email": "nobody", "role": "member"}
    yield "post", reverse("org:spend_action", args=[slug, code]), {}
    yield "post", reverse("org:rate", args=[slug, code]), {}


def _visit(client: DjangoClient, method: str, url: str, data: dict | None = None):
    return getattr(client, method)(url, data or {}, **FRENCH)


def english_on_pages(
    client: DjangoClient, requests: Iterable[tuple[str, str, dict]], data: set[str]
) -> list[tuple[str, str]]:
    """(url, English phrase) for every phrase of ours found on the answers, in French."""
    found = []
    for method, url, form in requests:
        response = _visit(client, method, url, form)
        assert response.status_code in (200, 400, 403, 404), (url, response.status_code)
        for phrase in english_in(without_data(readable(response), data)):
            found.append((url, phrase))
    return found


# --- the tests ---------------------------------------------------------------------------------


def test_the_french_catalogue_has_no_entry_of_ours_untranslated_or_fuzzy():
    """Issue 10, item 9: every string in French, none left to a guess of makemessages."""
    # Given the French catalogue's entries that come from our templates and modules
    ours = [entry for entry in read_catalogue() if entry.ours]
    assert len(ours) > 500
    # Then each has its French, both forms for a plural, and none is a fuzzy guess
    assert [entry.msgid for entry in ours if entry.untranslated] == []
    assert [entry.msgid for entry in ours if "fuzzy" in entry.flags] == []


def test_every_string_marked_in_our_templates_and_modules_is_in_the_french_catalogue():
    """Issue 10, item 9: a string added to a template or a module without running
    makemessages (so without French) fails here, not in front of a French reader."""
    # Given what our templates and modules mark for translation
    marked = marked_in_templates() | marked_in_modules()
    assert len(marked) > 500
    # Then the catalogue has all of it (and the first test proves it is translated)
    catalogue = {(entry.context, entry.msgid) for entry in read_catalogue()}
    assert sorted(marked - catalogue, key=str) == []


def test_the_check_finds_an_english_phrase_of_ours_in_a_page_but_not_french_or_single_words():
    """Issue 10, item 9: the detector the page walk relies on."""
    # Given a French page where one button was left in English
    page = (
        "<h1>Attribuer des crédits à « Liste une »</h1><p>Total : 12</p>"
        "<button>Assign credits</button><input placeholder='An action, a category, a country…'>"
        "<p>Vous êtes propriétaire de cette organisation.</p>"
        "<p>You are owner of this organisation.</p>"
    )
    # When it is read as a person reads it
    text = page_text(page)
    # Then the English phrases are found, placeholders and attributes included, the French not
    assert sorted(english_in(text)) == [
        "An action, a category, a country…",
        "Assign credits",
        "You are %(role)s of this organisation.",
    ]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_organisation_page_reads_in_french_for_an_owner_and_a_tied_member(
    client, login, make_portal, preset
):
    """Issue 10, items 8 and 9: every page in French, in each organisation's own words."""
    # Given an organisation of the preset, with its people, clients, quotes and consumptions,
    # billed in French (its invoices are written in its language, whoever reads them)
    portal = make_portal(f"fr-{preset.replace('_', '-')}", preset=preset)
    Organisation.objects.filter(pk=portal.organisation.pk).update(language="fr")
    portal.organisation.language = "fr"
    pages = [("get", fill(route, portal), {}) for route, _view in organisation_routes()]
    data = data_of(portal)
    # When its owner opens every page, and sends bad input to its forms, in French
    login(portal.owner)
    home = _visit(client, "get", reverse("org:home", args=[portal.organisation.slug]))
    assert '<html lang="fr">' in home.content.decode()
    assert "Accueil" in readable(home)
    found = english_on_pages(client, [*pages, *_bad_inputs(portal)], data)
    # And a member tied to its first client does the same (her refusals are 403 pages)
    login(portal.tied)
    found += english_on_pages(client, pages, data)
    # Then no page holds an English phrase of ours
    assert found == [], "\n".join(f"{url}: {phrase}" for url, phrase in found)


def test_the_pages_outside_an_organisation_read_in_french(client, login, make_portal, make_user):
    """Issue 10, item 9: login, switcher, invitation, 404, 403, CSRF and server error pages."""
    # Given an organisation, an invitation to it, someone in two organisations, and no one
    portal = make_portal("fr-outside", preset="sms")
    other = make_portal("fr-other", preset="serious_game")
    add_member(organisation=other.organisation, user=portal.owner, role=Role.ADMIN)
    slug = portal.organisation.slug
    _invitation, token = record_invitation(
        organisation=portal.organisation,
        email="new-person@fr-outside.example",
        role=Role.MEMBER,
        client=portal.clients[0],
        invited_by=portal.owner,
        link_base="http://testserver",
        now=timezone.now(),
    )
    data = data_of(portal) | data_of(other) | {"new-person@fr-outside.example"}
    invitation = reverse("invitation", args=[token])
    # When they open them in French: a visitor, then the owner, then someone in no organisation
    found = english_on_pages(
        client,
        [
            ("get", reverse("login"), {}),
            ("post", reverse("login"), {"username": "nobody", "password": "wrong"}),
            ("get", invitation, {}),
            ("post", invitation, {"username": "", "password1": "a", "password2": "b"}),
            ("get", reverse("invitation", args=["not-a-token"]), {}),
        ],
        data,
    )
    login(portal.owner)
    found += english_on_pages(
        client,
        [
            ("get", reverse("home"), {}),
            ("get", invitation, {}),
            ("get", f"/o/{slug}/activity/999999/", {}),
            ("get", "/no-such-page/", {}),
        ],
        data,
    )
    login(make_user("fr-nobody", password=PASSWORD))
    found += english_on_pages(client, [("get", reverse("home"), {})], data)
    login(portal.tied)
    refused_page = ("get", reverse("org:member_invite", args=[slug]), {})
    found += english_on_pages(client, [refused_page], data)
    # And a form whose CSRF token was lost, and a server error
    strict = DjangoClient(enforce_csrf_checks=True)
    refused = strict.post(reverse("login"), {"username": "x"}, **FRENCH)
    assert refused.status_code == 403
    found += [("csrf", phrase) for phrase in english_in(readable(refused))]
    with translation.override("fr"):
        error_page = render_to_string("500.html")
    found += [("500", phrase) for phrase in english_in(page_text(error_page))]
    # Then none of them holds an English phrase of ours
    assert found == []


def test_the_invitation_email_of_a_french_organisation_reads_in_french(make_portal, mailoutbox):
    """Issue 10, items 7 and 9: the e-mail is written in the organisation's language."""
    # Given an organisation that speaks French
    portal = make_portal("fr-mail", preset="sms")
    portal.organisation.language = "fr"
    portal.organisation.save(update_fields=["language"])
    # When its owner invites someone who will see only its first list
    invite_member(
        organisation=portal.organisation,
        email="guest@fr-mail.example",
        role=Role.MEMBER,
        client=portal.clients[0],
        invited_by=portal.owner,
        link_base="http://testserver",
        now=timezone.now(),
    )
    # Then the subject and the body are French, with no English phrase of ours
    (message,) = mailoutbox
    assert message.subject == "Invitation à rejoindre Fr-Mail"
    assert "Bonjour," in message.body
    assert english_in(" ".join(f"{message.subject} {message.body}".split())) == []
