"""A refused deletion in the clients' back office is a page that says why, with nothing
deleted (a refused change is a form error: `config.admin_base.RefusalsAsFormErrors`)."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext

from clients.exceptions import ClientsError


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


class RemovedThroughService:
    """Mixin of a ModelAdmin whose delete page hands the removal to a service: a removal the
    service refuses is a page that says why (before Django's confirmation, and again if a
    concurrent change makes the service refuse on the POST); the removal and its history
    are one transaction, logged only when done. Subclasses say how the service checks and
    removes one object."""

    def check_removal(self, obj) -> None:
        """Raise the service's `ClientsError` when `obj` may not be removed."""
        raise NotImplementedError

    def removal_context(self, obj) -> dict:
        """What Django's confirmation page shows besides its own context."""
        return {}

    def remove(self, request: HttpRequest, obj) -> bool:
        """Remove `obj` through one service call and log it; False when the service kept it
        (deactivated instead, say), and the list is shown instead of "deleted"."""
        raise NotImplementedError

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_delete_permission(request, obj):
            return super().delete_view(request, object_id, extra_context)
        try:
            self.check_removal(obj)
        except ClientsError as error:
            return refusal_page(self, request, obj, error)
        if request.method != "POST":
            context = {**(extra_context or {}), **self.removal_context(obj)}
            return super().delete_view(request, object_id, context)
        shown = str(obj)
        try:
            with transaction.atomic():
                deleted = self.remove(request, obj)
        except ClientsError as error:
            return refusal_page(self, request, obj, error)
        if deleted:
            return self.response_delete(request, shown, obj.pk)
        opts = self.opts
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
