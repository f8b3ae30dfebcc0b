from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clients import views as client_views

urlpatterns = [
    path("", client_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("o/<slug:slug>/", include("clients.urls")),
]
