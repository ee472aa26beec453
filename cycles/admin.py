"""Clinic set-up in the Django admin: protocol profiles. Courses are shown read-only and audited;
treatment records, adverse events and flags are not here (they change only through the services)."""

from django import forms
from django.contrib import admin

from clinic.admin_site import AuditedReadOnlyAdmin
from clinic.errors import ValidationFailed
from cycles import services
from cycles.api.serializers import ProtocolSerializer
from cycles.models import Course, Protocol


class ProtocolForm(forms.ModelForm):
    class Meta:
        model = Protocol
        # The fields the API edits, in its order.
        fields = [f for f in ProtocolSerializer.Meta.fields if f not in ProtocolSerializer.Meta.read_only_fields]

    def _get_validation_exclusions(self):
        # "Exactly one default" is kept by moving the mark (save_model), not refused as a clash.
        return {*super()._get_validation_exclusions(), "is_default"}

    def _post_clean(self):
        """The profile's rules are the service's (cycles.services.check_protocol), shown on the form's fields."""
        super()._post_clean()
        unticked = self.instance.pk and not self.cleaned_data.get("is_default", True)
        if unticked and Protocol.objects.filter(pk=self.instance.pk, is_default=True).exists():
            self.add_error("is_default", "One profile is always the default: make another profile the default.")
        try:
            services.check_protocol(self.instance)
        except ValidationFailed as refusal:
            for field, messages in (refusal.fields or {}).items():
                self.add_error(field if field in self.fields else None, messages)


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    """Profiles are edited here under the API's checks; ticking "is default" moves the default there
    (exactly one profile is). A profile is never deleted: courses and their history name it."""

    form = ProtocolForm
    list_display = ["name", "is_default", "interval_days", "min_interval_days", "max_units", "updated_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        make_default = obj.is_default
        obj.is_default = change and Protocol.objects.filter(pk=obj.pk, is_default=True).exists()
        obj.save()
        if make_default and not obj.is_default:
            services.protocol_update(protocol=obj, is_default=True)
            obj.is_default = True


@admin.register(Course)
class CourseAdmin(AuditedReadOnlyAdmin):
    list_display = ["id", "patient", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["patient"]
