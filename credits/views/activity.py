"""Every movement of the organisation's credits, filtered, paged and exported (C4, X1, B5).

The list paints from one keyset read (no count of the whole list); its totals come after, as
a fragment htmx fetches from the same route with `totals=1` (a plain link without JS). The
exports stream the same rows, grouped the same way, with the same totals as a last line.
"""

from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext, pgettext

from clients.access import organisation_page
from clients.roles import Permission
from credits.exports import Sheet, csv_response, xlsx_response
from credits.forms.activity import ActivityFilterForm
from credits.models import LotSource
from credits.selectors import activity as selectors
from credits.selectors.activity import Operation
from credits.selectors.consumption import consumption_detail

LIST = "credits/activity/list.html"
TOTALS = "credits/activity/_totals.html"


def _form(request: HttpRequest) -> ActivityFilterForm:
    return ActivityFilterForm(request.GET, membership=request.membership, words=request.words)


@organisation_page(Permission.VIEW)
def activity(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict[str, object] = {"form": form, "page": None, "totals": None}
    if not form.is_valid():
        return render(request, TOTALS if request.htmx else LIST, context)
    if request.GET.get("totals"):
        context["totals"] = selectors.activity_totals(form.activity_filter())
        if request.htmx:
            return render(request, TOTALS, context)
    context["page"] = selectors.activity_page(
        form.activity_filter(), after=form.cleaned_data["cursor"]
    )
    return render(request, LIST, context)


class _Columns:
    """The export's columns: the page's, in the organisation's time and the page's language.
    Words are translated once, not once per row (an export may have a million)."""

    def __init__(self, request: HttpRequest) -> None:
        self.zone = ZoneInfo(request.organisation.time_zone)
        self.header = [
            gettext("When"),
            pgettext("kind of operation", "Kind"),
            gettext("Who"),
            str(request.words.one),
            gettext("Action"),
            gettext("Parameters"),
            gettext("Credits"),
            gettext("Balance after"),
            gettext("Lots"),
        ]
        self.kinds: dict[tuple[str, str], str] = {}
        self.sources = {source: str(label) for source, label in LotSource.choices}
        self.system = pgettext("nobody acted", "System")

    def kind(self, operation: Operation) -> str:
        key = (operation.kind, operation.source)
        if key not in self.kinds:
            self.kinds[key] = str(selectors.kind_label(*key))
        return self.kinds[key]

    def lots(self, operation: Operation) -> str:
        parts = []
        for part in operation.lots.values():
            source = self.sources.get(part.source, part.source)
            parts.append(f"#{part.lot_id} {source} {part.credits:+d}" if part.credits else
                         f"#{part.lot_id} {source}")  # fmt: skip
        return "; ".join(parts)

    def row(self, operation: Operation) -> list[object]:
        return [
            operation.created_at.astimezone(self.zone).replace(tzinfo=None, microsecond=0),
            self.kind(operation),
            self.system if operation.actor_username is None else operation.who,
            operation.client_names,
            operation.action_name,
            operation.params_text,
            operation.credits,
            operation.balance_after,
            self.lots(operation),
        ]

    def totals(self, totals: selectors.ActivityTotals) -> list[object]:
        count = ngettext("%(count)d operation", "%(count)d operations", totals.operations)
        moved = gettext("Credits in: %(in)d, credits out: %(out)d")
        return [
            pgettext("sum of a column", "Total"),
            count % {"count": totals.operations},
            "",
            "",
            "",
            moved % {"in": totals.credits_in, "out": totals.credits_out},
            totals.net,
            "",
            "",
        ]


def _rows(scope: selectors.ActivityFilter, columns: _Columns) -> Iterator[list[object]]:
    """Every row of the filtered list, grouped as on the page, then the page's totals."""
    totals = selectors.activity_totals(scope)
    for operation in selectors.activity_operations(scope):
        yield columns.row(operation)
    yield columns.totals(totals)


def _filename(request: HttpRequest, extension: str) -> str:
    day = timezone.localdate()
    return f"activity-{request.organisation.slug}-{day.isoformat()}.{extension}"


def _in_language(rows: Iterable[list[object]], language: str) -> Iterator[list[object]]:
    """A CSV is written after the view returned: its words keep the page's language."""
    with translation.override(language):
        yield from rows


def _export_form(request: HttpRequest) -> ActivityFilterForm | HttpResponse:
    form = _form(request)
    if not form.is_valid():
        return render(request, LIST, {"form": form, "page": None, "totals": None}, status=400)
    return form


@organisation_page(Permission.VIEW)
def activity_csv(request: HttpRequest) -> HttpResponse:
    form = _export_form(request)
    if isinstance(form, HttpResponse):
        return form
    columns = _Columns(request)
    rows = _in_language(_rows(form.activity_filter(), columns), translation.get_language())
    return csv_response(_filename(request, "csv"), columns.header, rows)


@organisation_page(Permission.VIEW)
def activity_xlsx(request: HttpRequest) -> HttpResponse:
    form = _export_form(request)
    if isinstance(form, HttpResponse):
        return form
    columns = _Columns(request)
    rows = _rows(form.activity_filter(), columns)
    sheet = Sheet(title=gettext("Activity"), header=columns.header, rows=rows)
    return xlsx_response(_filename(request, "xlsx"), [sheet])


@organisation_page(Permission.VIEW)
def consumption(request: HttpRequest, consumption_id: int) -> HttpResponse:
    detail = consumption_detail(request.membership, consumption_id)
    if detail is None:
        raise Http404("No such consumption.")
    return render(request, "credits/activity/consumption.html", {"detail": detail})


urlpatterns = [
    path("activity/", activity, name="activity"),
    path("activity.csv", activity_csv, name="activity_csv"),
    path("activity.xlsx", activity_xlsx, name="activity_xlsx"),
    path("activity/<int:consumption_id>/", consumption, name="consumption"),
]
