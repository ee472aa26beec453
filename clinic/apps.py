from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _create_cache_table(sender, *, using, **kwargs) -> None:
    # The embedded default keeps the shared cache (login lockout, throttles) in a database
    # table; `migrate` makes it so that no extra command is needed (it does nothing on Redis).
    call_command("createcachetable", database=using, verbosity=0)


def _reset_role_permissions(sender, *, using, **kwargs) -> None:
    # A database from before the roles were narrowed gives its clinic admins only what
    # clinic.roles allows them now (a new database has no groups yet: nothing to do).
    from django.contrib.auth.models import Group

    from clinic.roles import CLINIC_ADMIN, ensure_groups

    if Group.objects.using(using).filter(name=CLINIC_ADMIN).exists():
        ensure_groups()


class ClinicConfig(AppConfig):
    default = True  # apps.py has two configs: this one is the `clinic` app's
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from clinic import db
        from clinic.api import strict

        connection_created.connect(db.fast_timestamps, dispatch_uid="clinic.fast_timestamps")
        strict.install()  # JSON bodies are read with JSON's types, in every app's serializers
        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="clinic.create_cache_table")
        post_migrate.connect(_reset_role_permissions, sender=self, dispatch_uid="clinic.reset_role_permissions")


class ClinicAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with CycleDesk's site: one login (with its second step) and no escalation."""

    default = False
    default_site = "clinic.admin_site.ClinicAdminSite"
