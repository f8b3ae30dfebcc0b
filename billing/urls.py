"""The billing app's organisation pages (under /o/<slug>/, in the `org` namespace)."""

from billing.views import buy, invoices, plan

urlpatterns = [
    *buy.urlpatterns,
    *plan.urlpatterns,
    *invoices.urlpatterns,
]
