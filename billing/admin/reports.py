"""Reports for staff in the back office: the deferred-revenue report (B6).

The report has no model of its own (paid credits come from purchases), so it hangs off the
purchases' admin (`billing/admin/purchases.py`, `get_urls`): the purchases' list carries a
"Deferred revenue" button, and the report lives at `admin/billing/purchase/deferred-revenue/`
(url name `admin:billing_deferred_revenue`).

Reading it takes `billing.view_invoice` (revenue is what invoices say; a staff member without
it gets 403), on top of the admin's own staff check. The Excel export is the same figures
from the same selector call, written in openpyxl's write-only mode and streamed
(`credits.exports.xlsx_response`).
"""

from collections.abc import Iterator
from datetime import date

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from billing.selectors import revenue
from clients.models import CURRENCIES, Organisation
from credits.exports import Sheet, xlsx_response

REPORT_PERMISSION = "billing.view_invoice"
MONTH_FORMAT = "%Y-%m"
DEFAULT_MONTHS = 12


class MonthField(forms.DateField):
    """A month typed as yyyy-mm (a month picker where browsers have one)."""

    widget = forms.DateInput(attrs={"type": "month"}, format=MONTH_FORMAT)
    input_formats = [MONTH_FORMAT]


class DeferredRevenueFilter(forms.Form):
    first_month = MonthField(label=gettext_lazy("From (month)"))
    last_month = MonthField(label=gettext_lazy("To (month)"))
    organisation = forms.ModelChoiceField(
        label=gettext_lazy("Organisation"),
        queryset=Organisation.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("All organisations"),
    )
    currency = forms.ChoiceField(
        label=gettext_lazy("Currency"),
        choices=[("", gettext_lazy("All currencies")), *CURRENCIES],
        required=False,
    )

    def clean(self) -> dict:
        data = super().clean()
        first, last = data.get("first_month"), data.get("last_month")
        if first and last:
            if last < first:
                raise forms.ValidationError(_("The last month comes before the first."))
            if len(revenue.months_between(first, last)) > revenue.MAX_MONTHS:
                raise forms.ValidationError(
                    _("A report covers at most %(months)d months.") % {"months": revenue.MAX_MONTHS}
                )
        return data


def default_filter(today: date) -> dict[str, str]:
    """The twelve months up to the current one."""
    this_month = today.replace(day=1)
    return {
        "first_month": revenue.add_months(this_month, 1 - DEFAULT_MONTHS).strftime(MONTH_FORMAT),
        "last_month": this_month.strftime(MONTH_FORMAT),
    }


def _month(value: date) -> str:
    return value.strftime(MONTH_FORMAT)


def _money(figures: revenue.Figures) -> list[object]:
    return [
        figures.opening,
        figures.sold,
        figures.recognised,
        figures.expired,
        figures.cancelled,
        figures.closing,
    ]


def _figure_headings() -> list[str]:
    return [
        _("Opening deferred"),
        _("Sold"),
        _("Recognised (used)"),
        _("Expired (breakage)"),
        pgettext("deferred revenue", "Cancelled"),
        _("Closing deferred"),
    ]


def report_sheets(report: revenue.DeferredRevenue) -> list[Sheet]:
    """The page's figures as two sheets: one row per organisation, currency and month, then
    each currency's totals by month and over the period (currencies never added)."""

    def detail() -> Iterator[list[object]]:
        for row in report.rows:
            yield [row.organisation, row.currency, _month(row.month), *_money(row.figures)]

    def totals() -> Iterator[list[object]]:
        period = pgettext("month range", "%(first)s to %(last)s") % {
            "first": _month(report.first_month),
            "last": _month(report.last_month),
        }
        for currency in report.totals:
            for month, figures in currency.months:
                yield [currency.currency, _month(month), *_money(figures)]
            yield [currency.currency, period, *_money(currency.period)]

    return [
        Sheet(
            title=_("Deferred revenue"),
            header=[_("Organisation"), _("Currency"), _("Month"), *_figure_headings()],
            rows=detail(),
        ),
        Sheet(
            title=_("Totals by currency"),
            header=[_("Currency"), _("Month"), *_figure_headings()],
            rows=totals(),
        ),
    ]


def deferred_revenue_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The report: filters, each currency's totals, the table, and its Excel export."""
    if not request.user.has_perm(REPORT_PERMISSION):
        raise PermissionDenied
    asked = any(name in request.GET for name in DeferredRevenueFilter.base_fields)
    today = timezone.localdate()
    form = DeferredRevenueFilter(request.GET if asked else default_filter(today))
    report = None
    if form.is_valid():
        report = revenue.deferred_revenue(
            first_month=form.cleaned_data["first_month"],
            last_month=form.cleaned_data["last_month"],
            organisation=form.cleaned_data["organisation"],
            currency=form.cleaned_data["currency"] or None,
        )
        if request.GET.get("export") == "xlsx":
            filename = (
                f"deferred-revenue-{_month(report.first_month)}-{_month(report.last_month)}.xlsx"
            )
            return xlsx_response(filename, report_sheets(report))
    return TemplateResponse(
        request,
        "admin/billing/deferred_revenue.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": _("Deferred revenue"),
            "opts": model_admin.model._meta,
            "form": form,
            "report": report,
        },
        status=200 if form.is_valid() else 400,
    )
