from allauth.account.decorators import secure_admin_login
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz

handler404 = "config.api_defaults.page_not_found"

admin.site.site_header = "Plugway operations"
admin.site.site_title = "Plugway operations"
# Staff sign in through allauth's login, with its failure limits, not the admin's own form,
# which has none.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

# An unreachable database surfacing outside a view is a 503 too (config.middleware).
handler500 = "config.middleware.server_error"

urlpatterns = [
    path("", include("locator.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/v1/docs/",
        # Swagger UI sets a few inline styles; its scripts stay same-origin.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("healthz", healthz, name="healthz"),
    # The footer's language switch (set_language) and the strings our scripts show.
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("ocpi/", include("roaming.urls")),
    path("receipts/", include("roaming.receipt_urls")),
    path("api/v1/", include("roaming.api_urls")),
    path("", include("payments.urls")),
    path("", include("roaming.urls_sessions")),
]
