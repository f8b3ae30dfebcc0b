"""Usage by action, client and month, with charts, drill-down and Excel (S6, M4, C1).

The report covers the organisation, or only the client a member is tied to; the drill-down
covers one client and links each of its months to its consumptions on the activity page.
The Excel file is the report of the same period and scope (`?client=` for a drill-down).
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, ngettext, pgettext

from clients.access import organisation_page
from clients.roles import Permission
from clients.selectors import visible_client
from credits.charts import Bar, bar_chart, column_chart, top_bars
from credits.exports import Sheet, xlsx_response
from credits.forms.usage import UsageExportForm, UsagePeriodForm, shortcuts
from credits.selectors.usage import UsageReport, usage_report

CHART_BARS = 10  # bars of a horizontal chart; the table lists every line


def _credits(label: str, value: int) -> str:
    return ngettext("%(label)s: %(credits)s credit", "%(label)s: %(credits)s credits", value) % {
        "label": label,
        "credits": number_format(value, force_grouping=True),
    }


def _charts(report: UsageReport, words) -> dict[str, str]:
    """The report's three charts of credits: by month, by client, by action."""
    months = []
    for index, line in enumerate(report.by_month):
        name = date_format(line.month, "YEAR_MONTH_FORMAT")
        note = str(line.month.year) if index == 0 or line.month.month == 1 else ""
        months.append(
            Bar(date_format(line.month, "N"), line.credits, _credits(name, line.credits), note)
        )
    rest = pgettext("the bar summing the rest of a chart", "Others")
    clients = [
        Bar(line.name, line.credits, _credits(line.name, line.credits)) for line in report.by_client
    ]
    actions = [
        Bar(line.name, line.credits, _credits(line.name, line.credits)) for line in report.by_action
    ]
    return {
        "months": column_chart(months, title=gettext("Credits by month"), chart_id="chart-months"),
        "clients": bar_chart(
            top_bars(clients, limit=CHART_BARS, rest=rest),
            title=str(words.many),
            chart_id="chart-clients",
        ),
        "actions": bar_chart(
            top_bars(actions, limit=CHART_BARS, rest=rest),
            title=gettext("Credits by action"),
            chart_id="chart-actions",
        ),
    }


def _period_form(request: HttpRequest, form_class=UsagePeriodForm):
    return form_class(request.GET, today=timezone.localdate())


@organisation_page(Permission.VIEW)
def usage(request: HttpRequest) -> HttpResponse:
    form = _period_form(request)
    context = {"form": form, "shortcuts": shortcuts(form.today)}
    if form.is_valid():
        # A member tied to a client sees that client's usage only (clients.roles).
        report = usage_report(request.organisation, form.period, client=request.membership.client)
        context |= {"report": report, "charts": _charts(report, request.words)}
    return render(request, "credits/usage/report.html", context)


@organisation_page(Permission.VIEW)
def usage_client(request: HttpRequest, client_id: int) -> HttpResponse:
    client = visible_client(request.membership, client_id)
    if client is None:
        raise Http404("No such client.")
    form = _period_form(request)
    context = {"form": form, "client": client, "shortcuts": shortcuts(form.today)}
    if form.is_valid():
        report = usage_report(request.organisation, form.period, client=client)
        context |= {"report": report, "charts": _charts(report, request.words)}
    return render(request, "credits/usage/client.html", context)


@organisation_page(Permission.VIEW)
def usage_xlsx(request: HttpRequest) -> HttpResponse:
    form = _period_form(request, UsageExportForm)
    if not form.is_valid():
        context = {"form": form, "shortcuts": shortcuts(form.today)}
        return render(request, "credits/usage/report.html", context, status=400)
    client = request.membership.client
    if form.cleaned_data["client"] is not None:
        client = visible_client(request.membership, form.cleaned_data["client"])
        if client is None:
            raise Http404("No such client.")
    report = usage_report(request.organisation, form.period, client=client)
    return xlsx_response(_filename(request, report), _sheets(report, request.words))


def _filename(request: HttpRequest, report: UsageReport) -> str:
    scope = f"-{report.client.pk}" if report.client is not None else ""
    period = f"{report.period.first:%Y%m%d}-{report.period.last:%Y%m%d}"
    return f"usage-{request.organisation.slug}{scope}-{period}.xlsx"


def _sheets(report: UsageReport, words) -> list[Sheet]:
    uses, credits, total = gettext("Uses"), gettext("Credits"), pgettext("sum of a column", "Total")
    return [
        Sheet(
            gettext("By action"),
            [gettext("Action"), gettext("Code"), uses, credits],
            iter([(line.name, line.code, line.uses, line.credits) for line in report.by_action]),
            [total, "", report.uses, report.credits],
        ),
        Sheet(
            str(words.many),
            [str(words.one), uses, credits],
            iter([(line.name, line.uses, line.credits) for line in report.by_client]),
            [total, report.uses, report.credits],
        ),
        Sheet(
            gettext("By month"),
            [gettext("Month"), uses, credits],
            iter([(f"{line.month:%Y-%m}", line.uses, line.credits) for line in report.by_month]),
            [total, report.uses, report.credits],
        ),
    ]


urlpatterns = [
    path("usage/", usage, name="usage"),
    path("usage.xlsx", usage_xlsx, name="usage_xlsx"),
    path("usage/<int:client_id>/", usage_client, name="usage_client"),
]
