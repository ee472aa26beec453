from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from clinic import views

handler400 = "clinic.api.errors.json_400"
handler403 = "clinic.api.errors.json_403"
handler404 = "clinic.api.errors.json_404"
handler500 = "clinic.api.errors.json_500"

api_v1 = [
    path("", include("clinic.api.urls")),
    path("", include("patients.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("cycles.api.urls")),
    path("", include("notifications.api.urls")),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("p/", include("notifications.urls")),  # patient links, no login
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("clinic.web.urls")),
]
