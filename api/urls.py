"""/api/: the versioned REST API (v1), its OpenAPI schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import (
    assignments,
    balance,
    clients,
    consumptions,
    holds,
    invoices,
    ledger,
    lots,
    purchases,
    quotes,
    ratecard,
    usage,
)

v1 = [
    *balance.urlpatterns,
    *ratecard.urlpatterns,
    *quotes.urlpatterns,
    *consumptions.urlpatterns,
    *holds.urlpatterns,
    *clients.urlpatterns,
    *assignments.urlpatterns,
    *lots.urlpatterns,
    *ledger.urlpatterns,
    *usage.urlpatterns,
    *invoices.urlpatterns,
    *purchases.urlpatterns,
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its start-up script as a file of its own (?script=) and no inline style:
    # the Content-Security-Policy refuses inline ones (templates/api_docs.html).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api_docs.html"),
        name="docs",
    ),
]
