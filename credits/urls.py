"""The credits app's organisation pages (under /o/<slug>/, in the `org` namespace)."""

from credits.views import activity, dashboard, ratecard, spend, usage

urlpatterns = [
    *dashboard.urlpatterns,
    *ratecard.urlpatterns,
    *spend.urlpatterns,
    *activity.urlpatterns,
    *usage.urlpatterns,
]
