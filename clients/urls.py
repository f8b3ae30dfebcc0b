"""The clients app's organisation pages (under /o/<slug>/, in the `org` namespace)."""

from clients.views import clients, members

urlpatterns = [
    *clients.urlpatterns,
    *members.urlpatterns,
]
