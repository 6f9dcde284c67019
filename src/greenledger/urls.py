"""Root URLs: pages of each app, the API, the admin, login and language switching."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from greenledger import api
from greenledger.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("", include("greenledger.core.urls")),
    path("evidence/", include("greenledger.evidence.urls")),
    path("measures/", include("greenledger.measures.urls")),
    path("m/", include("greenledger.measures.field_urls")),
    path("telemetry/", include("greenledger.telemetry.urls")),
    path("carbon/", include("greenledger.carbon.urls")),
    path("gate/", include("greenledger.gate.urls")),
    path("uplink/", include("greenledger.uplink.urls")),
    path("api/", api.urls()),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
