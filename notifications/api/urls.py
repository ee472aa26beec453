from django.urls import path

from notifications.api import views

urlpatterns = [
    path("notifications/", views.NotificationList.as_view(), name="notification-list"),
    path("webhooks/sms/", views.InboundSmsWebhook.as_view(), name="webhook-sms"),
]
