from django.apps import AppConfig


class CyclesConfig(AppConfig):
    name = "cycles"
    verbose_name = "Treatment courses"

    def ready(self) -> None:
        # The course's rules join the booking checks and the diary hook of the layers below
        # (DESIGN.md §3: a lower layer reaches up only through a registered hook).
        from cycles import hooks  # imports models: only once the app registry is ready

        hooks.connect()
