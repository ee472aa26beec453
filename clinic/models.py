import uuid

from django.conf import settings
from django.db import models


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValueError("Audit rows are append-only.")

    def delete(self):
        raise ValueError("Audit rows are append-only.")


class AuditLog(models.Model):
    """Append-only record of who read or wrote which patient's data, and from where.

    Rows are never updated or deleted: `save()` refuses an update, the queryset
    refuses updates and deletes, and on PostgreSQL triggers refuse UPDATE, DELETE
    and TRUNCATE in the database. A user with audit rows cannot be deleted (PROTECT: nulling the user
    would rewrite history, and the trigger would refuse it); deactivate them instead.
    """

    class Action(models.TextChoices):
        READ = "read"
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"
        OVERRIDE = "override"
        EXPORT = "export"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # Who acted when it was not a signed-in user: "patient link <id>" for a patient's link.
    actor = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    # No index of its own: the (patient_id, at) index answers every search by patient, and each index
    # is written on every row (a week view writes 3,200 rows).
    patient_id = models.UUIDField(null=True)
    resource = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    client_ip = models.GenericIPAddressField(null=True)
    request_id = models.UUIDField(default=uuid.uuid4, editable=False)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient_id", "at"])]

    def __str__(self) -> str:
        who = self.user_id or self.actor
        return f"{self.at:%Y-%m-%d %H:%M} {who} {self.action} {self.resource} {self.patient_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Audit rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit rows are append-only.")
