"""The webhook pages (B3), owners only (`manage_integrations`): endpoints and the form to
register one; an endpoint with its secret, its switch, a test event and its deliveries; its
edit and delete pages; a delivery with every attempt and a replay.

Each view reads its input, makes one service or selector call and renders; a refusal shows
the form again with the reason (400) and changes nothing. A GET of every route answers a page
(the delete route asks for confirmation), so every route answers its owner.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.access import organisation_page
from clients.roles import Permission
from webhooks import selectors, services
from webhooks.exceptions import WebhookError
from webhooks.forms import EndpointForm
from webhooks.models import DeliveryStatus, Endpoint

OWNERS = Permission.MANAGE_INTEGRATIONS


def _refused(form: EndpointForm, error: WebhookError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error))


def _endpoint(request: HttpRequest, endpoint_id: int) -> Endpoint:
    endpoint = selectors.endpoint_of(request.organisation, endpoint_id)
    if endpoint is None:
        raise Http404("No such endpoint.")
    return endpoint


def _index(request: HttpRequest, form: EndpointForm | None = None, status: int = 200):
    context = {
        "endpoints": selectors.endpoints_of(request.organisation),
        "form": form or EndpointForm(),
        "max_endpoints": services.MAX_ENDPOINTS,
    }
    return render(request, "webhooks/index.html", context, status=status)


@organisation_page(OWNERS)
def webhooks(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _index(request)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = services.register_endpoint(
                organisation=request.organisation,
                now=timezone.now(),
                actor=request.user,
                **form.cleaned_data,
            )
        except WebhookError as error:
            _refused(form, error)
        else:
            messages.success(
                request,
                _("Endpoint registered. Copy its signing secret into your receiver."),
            )
            return redirect("org:webhook", slug=request.organisation.slug, endpoint_id=endpoint.pk)
    return _index(request, form=form, status=400)


INTENTS = {
    "enable": _("The endpoint is on: events are sent to it again."),
    "disable": _("The endpoint is off: nothing is sent to it until you turn it on."),
    "test": _("Test event sent: its delivery is at the top of the list."),
}


def _act(endpoint: Endpoint, intent: str) -> None:
    now = timezone.now()
    if intent == "test":
        services.send_test_event(endpoint=endpoint, now=now)
    else:
        services.set_endpoint_active(endpoint=endpoint, active=intent == "enable", now=now)


@organisation_page(OWNERS)
def webhook(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    status = 200
    if request.method == "POST":
        intent = request.POST.get("intent", "")
        if intent not in INTENTS:
            messages.error(request, _("Choose what to do with the endpoint."))
            status = 400
        else:
            try:
                _act(endpoint, intent)
            except WebhookError as error:
                messages.error(request, str(error))
                status = 400
            else:
                messages.success(request, INTENTS[intent])
                return redirect(
                    "org:webhook", slug=request.organisation.slug, endpoint_id=endpoint.pk
                )
        endpoint = _endpoint(request, endpoint_id)
    page = selectors.endpoint_page(endpoint, status=request.GET.get("status", ""))
    context = {
        "page": page,
        "endpoint": endpoint,
        "statuses": DeliveryStatus.choices,
        "max_attempts": services.MAX_ATTEMPTS,
    }
    return render(request, "webhooks/endpoint.html", context, status=status)


@organisation_page(OWNERS)
def webhook_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if request.method != "POST":
        form = EndpointForm.for_endpoint(endpoint)
        return render(request, "webhooks/edit.html", {"endpoint": endpoint, "form": form})
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            services.update_endpoint(endpoint=endpoint, now=timezone.now(), **form.cleaned_data)
        except WebhookError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("org:webhook", slug=request.organisation.slug, endpoint_id=endpoint.pk)
    return render(request, "webhooks/edit.html", {"endpoint": endpoint, "form": form}, status=400)


@organisation_page(OWNERS)
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if request.method != "POST":
        return render(request, "webhooks/delete.html", {"endpoint": endpoint})
    services.delete_endpoint(endpoint=endpoint)
    messages.success(request, _("Endpoint deleted: nothing more is sent to it."))
    return redirect("org:webhooks", slug=request.organisation.slug)


@organisation_page(OWNERS)
def webhook_delivery(request: HttpRequest, delivery_id: int) -> HttpResponse:
    page = selectors.delivery_page(request.organisation, delivery_id)
    if page is None:
        raise Http404("No such delivery.")
    if request.method != "POST":
        context = {"page": page, "max_attempts": services.MAX_ATTEMPTS}
        return render(request, "webhooks/delivery.html", context)
    try:
        replay = services.replay_delivery(delivery=page.delivery, now=timezone.now())
    except WebhookError as error:
        messages.error(request, str(error))
        context = {"page": page, "max_attempts": services.MAX_ATTEMPTS}
        return render(request, "webhooks/delivery.html", context, status=400)
    messages.success(request, _("The event is sent again, with the same webhook-id."))
    return redirect("org:webhook_delivery", slug=request.organisation.slug, delivery_id=replay.pk)
