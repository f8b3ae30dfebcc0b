"""Refusals in the clients' back office: a service's refusal is an error on the page, never
beside "changed successfully", and a refused deletion is a page that says why."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from config.admin_base import PortalAdmin


def refusal_page(
    model_admin: admin.ModelAdmin, request: HttpRequest, obj, error: Exception
) -> TemplateResponse:
    """Deleting is refused: say why on a page of its own, with nothing deleted."""
    return TemplateResponse(
        request,
        "admin/clients/delete_refused.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": gettext("Cannot delete"),
            "opts": model_admin.opts,
            "object": obj,
            "reason": str(error),
        },
        status=409 if request.method == "POST" else 200,
    )


class RefusalsAsErrors(PortalAdmin):
    """A service's refusal at save time (a race the form's check could not see) is shown as
    an error on the same page: no "changed successfully", no history entry."""

    refusal_attribute = "_portal_admin_refusal"

    def refuse(self, request: HttpRequest, error: Exception) -> None:
        setattr(request, self.refusal_attribute, error)

    def refusal(self, request: HttpRequest) -> Exception | None:
        return getattr(request, self.refusal_attribute, None)

    def log_addition(self, request, obj, message):
        return None if self.refusal(request) else super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        return None if self.refusal(request) else super().log_change(request, obj, message)

    def _refused_response(self, request: HttpRequest) -> HttpResponse:
        error = self.refusal(request)
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        self.message_user(request, text, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def response_add(self, request, obj, post_url_continue=None):
        if self.refusal(request):
            return self._refused_response(request)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if self.refusal(request):
            return self._refused_response(request)
        return super().response_change(request, obj)

    def refusal_page(self, request: HttpRequest, obj, error: Exception) -> TemplateResponse:
        return refusal_page(self, request, obj, error)
