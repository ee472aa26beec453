"""The project's URLs and error handlers plus one view that fails: proves 500s under /api/ are JSON."""

from django.urls import path

from clinic.urls import handler400, handler403, handler404, handler500
from clinic.urls import urlpatterns as project_urls


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/boom/", boom), path("boom/", boom), *project_urls]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
