"""A refused deletion in the clients' back office is a page that says why, with nothing
deleted (a refused change is a form error: `config.admin_base.RefusalsAsFormErrors`)."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext


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
            "original": obj,
            "reason": str(error),
        },
        status=409 if request.method == "POST" else 200,
    )
