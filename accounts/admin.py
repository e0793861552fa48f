from django.contrib import admin

from accounts.models import DriverProfile


@admin.register(DriverProfile)
class DriverProfileAdmin(admin.ModelAdmin[DriverProfile]):
    list_display = ("display_name", "user")
    search_fields = ("display_name", "user__email")
    raw_id_fields = ("user",)
