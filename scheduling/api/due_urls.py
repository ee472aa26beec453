from django.urls import path

from scheduling.api.due import DueList

urlpatterns = [
    path("due/", DueList.as_view(), name="due-list"),
]
