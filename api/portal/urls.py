"""Organisation pages of the API: keys (K4)."""

from api.portal.views import urlpatterns

__all__ = ["urlpatterns"]
