"""The billing page (M2, M3): the plan and what was used of it this cycle, the plans on sale,
the card on file and the billing profile.

Owners and admins see it (`buy`); only owners change anything (`manage_plan`), and every
change is a route of its own decorated so, so an admin's POST is a 403 whatever it carries.
Each change route shows its confirmation (or its form) on GET and calls one service on POST.
A refusal is said on the page and changes nothing: a declined card (402), a payment that is
being processed (an information, not an error: the settle job finishes it), any other
`BillingError` (400).
"""

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from billing import services
from billing.exceptions import BillingError, PaymentDeclined, PaymentPending
from billing.forms.plan import CardForm, PlanChoiceForm, ProfileForm
from billing.models import BillingProfile
from billing.selectors import account as selectors
from billing.selectors.account import Choice
from clients.access import organisation_page
from clients.roles import Permission
from credits.selectors.ratecard import credits_words

REFUSED = 400


def _to_billing(request: HttpRequest) -> HttpResponse:
    return redirect("org:billing", slug=request.organisation.slug)


def _day(moment: datetime) -> str:
    """A date as the page shows it, in the organisation's time zone (active here)."""
    return formats.date_format(timezone.localtime(moment), "j F Y")


def _profile_initial(request: HttpRequest, profile: BillingProfile | None = None) -> dict:
    profile = profile or selectors.profile_for(request.organisation)
    if profile is None:
        return {"legal_name": request.organisation.name}
    return {
        "legal_name": profile.legal_name or request.organisation.name,
        "address": profile.address,
        "vat_number": profile.vat_number,
        "email": profile.email,
    }


@organisation_page(Permission.BUY)
def billing(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    account = selectors.billing_account(request.organisation, now=now)
    can_manage = Permission.MANAGE_PLAN in request.permissions
    context = {"account": account, "can_manage": can_manage}
    if can_manage:
        context["card_form"] = CardForm(today=timezone.localdate(now))
        context["profile_form"] = ProfileForm(initial=_profile_initial(request, account.profile))
    return render(request, "billing/plan/index.html", context)


def _chosen(subscription, plan, offer: selectors.PlanOffer) -> str:
    """What the person reads after choosing a plan, from the subscription as it now is."""
    if offer.choice == Choice.KEEP:
        return _("You stay on the %(plan)s plan; the change at renewal is called off.") % {
            "plan": plan.name
        }
    if subscription.next_plan_id == plan.pk:
        return _("The %(plan)s plan starts at the renewal on %(date)s.") % {
            "plan": plan.name,
            "date": _day(subscription.renews_on),
        }
    return _("You are on the %(plan)s plan: %(credits)s included each month.") % {
        "plan": plan.name,
        "credits": credits_words(plan.included_credits),
    }


@organisation_page(Permission.MANAGE_PLAN)
def billing_plan(request: HttpRequest) -> HttpResponse:
    """GET `?plan=<code>`: what choosing it does and costs today, with the button that does
    it; POST: subscribe, or change the plan (upgrade now, prorated; downgrade at renewal)."""
    organisation = request.organisation
    now = timezone.now()
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = PlanChoiceForm(data, organisation=organisation)
    if not form.is_valid():
        account = selectors.billing_account(organisation, now=now)
        status = REFUSED if request.method == "POST" else 200
        return render(
            request,
            "billing/plan/change.html",
            {"form": form, "offer": None, "account": account},
            status=status,
        )
    plan = form.cleaned_data["plan"]
    offer = selectors.plan_offer(organisation, plan, now=now)
    if request.method != "POST":
        return render(request, "billing/plan/change.html", {"form": form, "offer": offer})
    subscription = selectors.subscription_of(organisation)
    error, status = None, REFUSED
    try:
        if offer.choice == Choice.SUBSCRIBE:
            subscription = services.subscribe(
                organisation=organisation, plan=plan, now=now, actor=request.user
            )
        elif subscription is not None:
            subscription = services.change_plan(
                subscription=subscription, plan=plan, now=now, actor=request.user
            )
        else:
            raise BillingError(_("Choose a plan first."))
    except PaymentPending as pending:
        messages.info(request, str(pending))
        return _to_billing(request)
    except PaymentDeclined as declined:
        error = _("%(reason)s Nothing was charged and your plan is unchanged.") % {
            "reason": declined
        }
        status = declined.http_status
    except BillingError as refusal:
        error = str(refusal)
    if error:
        offer = selectors.plan_offer(organisation, plan, now=now)
        return render(
            request,
            "billing/plan/change.html",
            {"form": form, "offer": offer, "error": error},
            status=status,
        )
    messages.success(request, _chosen(subscription, plan, offer))
    return _to_billing(request)


def _subscription_step(request: HttpRequest, *, resume: bool) -> HttpResponse:
    """Cancel at the period's end, or undo it: a confirmation on GET, the service on POST."""
    subscription = selectors.subscription_of(request.organisation)
    error = None
    if request.method == "POST":
        try:
            if subscription is None:
                raise BillingError(_("This organisation has no plan."))
            if resume:
                subscription = services.resume_subscription(
                    subscription=subscription, now=timezone.now()
                )
            else:
                subscription = services.cancel_subscription(
                    subscription=subscription, now=timezone.now()
                )
        except BillingError as refusal:
            error = str(refusal)
        else:
            day = _day(subscription.renews_on)
            if resume:
                text = _("Your plan renews on %(date)s as before.") % {"date": day}
            else:
                text = _("Your plan stops on %(date)s; until then nothing changes.") % {"date": day}
            messages.success(request, text)
            return _to_billing(request)
    return render(
        request,
        "billing/plan/end.html",
        {"subscription": subscription, "resume": resume, "error": error},
        status=REFUSED if error else 200,
    )


@organisation_page(Permission.MANAGE_PLAN)
def billing_cancel(request: HttpRequest) -> HttpResponse:
    return _subscription_step(request, resume=False)


@organisation_page(Permission.MANAGE_PLAN)
def billing_resume(request: HttpRequest) -> HttpResponse:
    return _subscription_step(request, resume=True)


@organisation_page(Permission.MANAGE_PLAN)
def billing_card(request: HttpRequest) -> HttpResponse:
    """Replace the card on file through the gateway; a card it refuses stays off the file."""
    now = timezone.now()
    form = CardForm(request.POST or None, today=timezone.localdate(now))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile = services.save_card(
                organisation=request.organisation,
                number=data["number"],
                exp_month=data["exp_month"],
                exp_year=data["exp_year"],
                cvc=data["cvc"],
                now=now,
            )
        except BillingError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request,
                _("Card saved: %(brand)s ending in %(last4)s, expires %(month)02d/%(year)s.")
                % {
                    "brand": profile.card_brand,
                    "last4": profile.card_last4,
                    "month": profile.card_exp_month,
                    "year": profile.card_exp_year,
                },
            )
            return _to_billing(request)
    card = selectors.card_on_file(request.organisation, now=now)
    return render(
        request,
        "billing/plan/card.html",
        {"form": form, "card": card},
        status=REFUSED if form.errors else 200,
    )


@organisation_page(Permission.MANAGE_PLAN)
def billing_profile(request: HttpRequest) -> HttpResponse:
    """The legal name, address, VAT number and invoice e-mail of the next invoices."""
    form = ProfileForm(request.POST or None, initial=_profile_initial(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_billing_profile(
                organisation=request.organisation,
                legal_name=data["legal_name"],
                address=data["address"],
                vat_number=data["vat_number"],
                email=data["email"],
            )
        except ValidationError as invalid:
            for field, errors in invalid.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Billing details saved: they appear on the next invoices."))
            return _to_billing(request)
    return render(
        request,
        "billing/plan/profile.html",
        {"form": form},
        status=REFUSED if form.errors else 200,
    )


urlpatterns = [
    path("billing/", billing, name="billing"),
    path("billing/plan/", billing_plan, name="billing_plan"),
    path("billing/cancel/", billing_cancel, name="billing_cancel"),
    path("billing/resume/", billing_resume, name="billing_resume"),
    path("billing/card/", billing_card, name="billing_card"),
    path("billing/profile/", billing_profile, name="billing_profile"),
]
