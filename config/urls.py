from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

import api.portal.urls
import billing.urls
import clients.urls
import credits.urls
import webhooks.urls
from clients import views as client_views
from clients.views import members as member_views

# Every page of an organisation, whichever app owns it, lives under /o/<slug>/ in one
# namespace (`org:`), and is reached through clients.access.organisation_page (X5).
organisation_pages = (
    [
        *credits.urls.urlpatterns,
        *clients.urls.urlpatterns,
        *billing.urls.urlpatterns,
        *api.portal.urls.urlpatterns,
        *webhooks.urls.urlpatterns,
    ],
    "org",
)

urlpatterns = [
    path("", client_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # An invitation's link: its visitor is not a member yet, so it is outside /o/<slug>/.
    path("invitations/<str:token>/", member_views.invitation_accept, name="invitation"),
    path("admin/", admin.site.urls),
    path("api/", include(("api.urls", "api"))),
    path("o/<slug:slug>/", include(organisation_pages)),
]

# Under /api/ errors are problem+json documents; elsewhere the portal's styled pages.
handler404 = "api.problems.page_not_found"
handler500 = "api.problems.server_error"
