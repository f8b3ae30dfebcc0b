"""The alerts page (D3, B1, B2): expiry reminders' lead times, the low-balance threshold, the
automatic top-up, and the notices e-mailed to the owners (newest first).

Everyone in the organisation sees it (`view`); only owners change it (`manage_plan`: alerts
and automatic top-up spend the organisation's money). Each form posts to its own route,
which answers the page again with the form's errors (400) or redirects to it, saved. A GET
of a form's route shows the page, so every route answers its owner.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import services as billing_services
from billing.exceptions import BillingError
from clients.access import organisation_page
from clients.roles import Permission
from credits import services
from credits.exceptions import CreditsError
from credits.forms.alerts import AlertPolicyForm, AutoTopUpForm, TopUpPriceForm
from credits.selectors import alerts as selectors


def _page(
    request: HttpRequest,
    *,
    policy_form: AlertPolicyForm | None = None,
    top_up_form: AutoTopUpForm | None = None,
    status: int = 200,
) -> HttpResponse:
    page = selectors.alerts_page(request.organisation, now=timezone.now())
    can_manage = Permission.MANAGE_PLAN in request.permissions
    context = {
        "page": page,
        "can_manage": can_manage,
        "sees_recipients": Permission.MANAGE_MEMBERS in request.permissions,
        "policy_form": policy_form or AlertPolicyForm.for_pool(page.pool),
        "top_up_form": top_up_form or AutoTopUpForm.for_settings(page.top_up.settings),
    }
    return render(request, "credits/alerts/index.html", context, status=status)


@organisation_page(Permission.VIEW)
def alerts(request: HttpRequest) -> HttpResponse:
    return _page(request)


@organisation_page(Permission.MANAGE_PLAN)
def alerts_policy(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = AlertPolicyForm(request.POST)
    if form.is_valid():
        try:
            services.set_alert_policy(organisation=request.organisation, **form.cleaned_data)
        except CreditsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Reminders and the low-balance alert are saved."))
            return redirect("org:alerts", slug=request.organisation.slug)
    return _page(request, policy_form=form, status=400)


@organisation_page(Permission.MANAGE_PLAN)
def alerts_top_up(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = AutoTopUpForm(request.POST)
    if form.is_valid():
        try:
            billing_services.configure_auto_top_up(
                organisation=request.organisation, now=timezone.now(), **form.cleaned_data
            )
        except BillingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Automatic top-up is saved."))
            return redirect("org:alerts", slug=request.organisation.slug)
    return _page(request, top_up_form=form, status=400)


@organisation_page(Permission.MANAGE_PLAN)
def alerts_top_up_price(request: HttpRequest) -> HttpResponse:
    """The price of the quantity being typed (htmx fragment; the form works without it)."""
    form = TopUpPriceForm(request.GET)
    price, error = None, ""
    if form.is_valid():
        price, error = selectors.top_up_price(request.organisation, form.cleaned_data["credits"])
    elif request.GET.get("credits"):
        error = " ".join(form.errors.get("credits", []))
    return render(
        request, "credits/alerts/_top_up_price.html", {"price": price, "price_error": error}
    )


urlpatterns = [
    path("alerts/", alerts, name="alerts"),
    path("alerts/reminders/", alerts_policy, name="alerts_policy"),
    path("alerts/top-up/", alerts_top_up, name="alerts_top_up"),
    path("alerts/top-up/price/", alerts_top_up_price, name="alerts_top_up_price"),
]
