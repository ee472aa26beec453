import getpass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic.roles import ALL_ROLES, CLINIC_ADMIN, ensure_groups
from scheduling.models import Clinician


class Command(BaseCommand):
    help = "Create a staff user in one role (front_desk, clinician, clinic_admin)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ALL_ROLES)
        parser.add_argument("--password", help="prompted for when omitted")
        parser.add_argument("--clinician", action="store_true", help="also create the Clinician row for this user")
        parser.add_argument("--name", help="display name for the Clinician row (default: the username)")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, password, clinician, name, email, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        if password is None:
            password = getpass.getpass(f"Password for {username}: ")
            if password != getpass.getpass("Again: "):
                raise CommandError("The passwords did not match.")
        if not password:
            raise CommandError("A password is required.")
        try:
            # The same validators as every password form (AUTH_PASSWORD_VALIDATORS): `--password 1` is refused.
            password_validation.validate_password(password, user=User(username=username, email=email))
        except ValidationError as exc:
            raise CommandError("The password is too weak: " + " ".join(exc.messages)) from None
        with transaction.atomic():
            ensure_groups()
            user = User.objects.create_user(username=username, password=password, email=email)
            user.is_staff = role == CLINIC_ADMIN  # Django admin is the clinic admin's surface
            user.save(update_fields=["is_staff"])
            user.groups.add(Group.objects.get(name=role))
            if clinician:
                Clinician.objects.create(name=name or username, user=user)
        suffix = " with a Clinician row" if clinician else ""
        self.stdout.write(self.style.SUCCESS(f"Created {role} {username}{suffix}"))
