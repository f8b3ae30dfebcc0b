"""The credits app's organisation pages (under /o/<slug>/, in the `org` namespace)."""

from credits.views import activity, alerts, dashboard, ratecard, spend, usage

urlpatterns = [
    *dashboard.urlpatterns,
    *ratecard.urlpatterns,
    *spend.urlpatterns,
    *activity.urlpatterns,
    *usage.urlpatterns,
    *alerts.urlpatterns,
]
