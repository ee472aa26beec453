"""The Django admin is for clinic set-up (DESIGN.md §6).

- One login: the admin's own login form would skip the second factor, so it sends people
  to the product's login page (with its TOTP step) and back.
- Pages that show patient data are read-only, for superusers only (a clinic admin sees
  set-up models only), and every view of them writes audit rows: `AuditedReadOnlyAdmin`.
  Clinical records (treatments, adverse events, flags) are not in the admin at all:
  clinical data changes only through the services, which keep the rules.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from clinic.audit import audit_record
from clinic.models import AuditLog


class ClinicAdminSite(admin.AdminSite):
    site_header = "CycleDesk clinic set-up"
    site_title = "CycleDesk set-up"
    index_title = "Clinic set-up"

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            # Signed in but not allowed here (front desk, clinicians): a 403, not a loop back to /login/.
            raise PermissionDenied
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        return redirect_to_login(target, settings.LOGIN_URL)


class AuditedReadOnlyAdmin(admin.ModelAdmin):
    """A page of rows that name patients: read-only, superusers only, every view audited.

    `audit_resource` names the rows in the audit log; `patient_ids(objs)` says whose they are.
    """

    audit_resource = ""

    def patient_ids(self, objs) -> list:
        return [obj.patient_id for obj in objs]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _audit(self, request, objs, detail: str, object_id="") -> None:
        audit_record(
            request=request,
            action=AuditLog.Action.READ,
            resource=self.audit_resource or self.model._meta.model_name,
            patient_ids=self.patient_ids(objs),
            object_id=object_id,
            detail=detail,
        )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            self._audit(request, list(changelist.result_list), "admin list")
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, unquote(object_id)) if response.status_code == 200 else None
        if obj is not None:
            self._audit(request, [obj], "admin view", object_id=obj.pk)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id)) if response.status_code == 200 else None
        if obj is not None:
            self._audit(request, [obj], "admin history", object_id=obj.pk)
        return response
