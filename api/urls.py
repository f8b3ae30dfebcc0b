"""/api/: the versioned REST API (v1), its OpenAPI schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
