from django.urls import path

from accounts import views

urlpatterns = [path("name/", views.display_name_edit, name="account_display_name")]
