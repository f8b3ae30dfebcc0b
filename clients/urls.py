from django.urls import path

from clients import views

app_name = "org"

urlpatterns = [
    path("", views.organisation_home, name="home"),
    path("clients/", views.client_list, name="clients"),
    path("clients/<int:client_id>/", views.client_detail, name="client"),
    path("members/", views.member_list, name="members"),
]
