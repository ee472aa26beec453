from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        # The outbox listens to scheduling's session events (DESIGN.md §3: a lower layer starts
        # work above it only through a registered hook).
        from notifications import hooks  # imports models: only once the app registry is ready

        hooks.connect()
