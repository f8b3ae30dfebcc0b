"""Organisation pages of webhooks: endpoints, deliveries, replays (B3), under /o/<slug>/."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("developers/webhooks/", views.webhooks, name="webhooks"),
    path("developers/webhooks/<int:endpoint_id>/", views.webhook, name="webhook"),
    path("developers/webhooks/<int:endpoint_id>/edit/", views.webhook_edit, name="webhook_edit"),
    path(
        "developers/webhooks/<int:endpoint_id>/delete/",
        views.webhook_delete,
        name="webhook_delete",
    ),
    path(
        "developers/webhooks/deliveries/<int:delivery_id>/",
        views.webhook_delivery,
        name="webhook_delivery",
    ),
]
