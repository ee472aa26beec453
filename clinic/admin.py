"""Staff accounts in the Django admin: the three roles, never superuser status or permissions.

The stock user admin lets anyone who may change users tick `is_superuser`, grant any
permission and join any group, so a clinic admin could make themselves superuser. This
one offers only the roles of clinic.roles; `is_staff` follows the clinic_admin role (the
admin is that role's surface); superuser accounts are not listed to anyone else, so their
passwords cannot be reset from here. Passwords pass Django's validators.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import TokenProxy

from clinic.roles import ALL_ROLES, CLINIC_ADMIN, roles_of

User = get_user_model()
ROLE_CHOICES = [(role, role.replace("_", " ").capitalize()) for role in ALL_ROLES]


class _RolesMixin(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="Front desk: patients and bookings. Clinician: clinical records. Clinic admin: this set-up site.",
    )


class StaffCreationForm(_RolesMixin, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email")


class StaffChangeForm(_RolesMixin, UserChangeForm):
    reset_two_factor = forms.BooleanField(
        required=False,
        label="Remove the two-factor device",
        help_text="For a lost phone: they enrol a new authenticator at their next login.",
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = ("username", "password", "first_name", "last_name", "email", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["roles"] = sorted(roles_of(self.instance))


# The stock page edits groups and permissions; roles live in code (clinic/roles.py). API
# tokens are credentials: no page shows them.
admin.site.unregister(Group)
admin.site.unregister(User)
admin.site.unregister(TokenProxy)


@admin.register(User)
class StaffAdmin(UserAdmin):
    form = StaffChangeForm
    add_form = StaffCreationForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Name and email", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "roles", "reset_two_factor")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
        ("Name and email", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("roles",)}),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = ("username", "first_name", "last_name", "email", "role_names", "is_active")
    list_filter = ("is_active", "groups")
    filter_horizontal = ()

    @admin.display(description="Roles")
    def role_names(self, user) -> str:
        return ", ".join(sorted(roles_of(user)))

    def get_queryset(self, request):
        users = super().get_queryset(request).prefetch_related("groups")
        return users if request.user.is_superuser else users.filter(is_superuser=False)

    def save_model(self, request, obj, form, change) -> None:
        obj.is_staff = CLINIC_ADMIN in form.cleaned_data["roles"]
        super().save_model(request, obj, form, change)

    @transaction.atomic
    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        user = form.instance
        user.groups.set([Group.objects.get_or_create(name=role)[0] for role in form.cleaned_data["roles"]])
        if form.cleaned_data.get("reset_two_factor"):
            TOTPDevice.objects.filter(user=user).delete()
