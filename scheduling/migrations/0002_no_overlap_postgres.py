from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from patients.models import DIARY_NO_OVERLAP
from scheduling.models import CLINICIAN_NO_OVERLAP, PATIENT_NO_OVERLAP

# Exclusion constraints exist only on PostgreSQL; on SQLite the services
# serialise writes inside IMMEDIATE transactions instead. They are applied with
# the schema editor directly so that the migration state (shared by both
# databases) does not carry them.
CONSTRAINTS = [
    ("scheduling", "Session", CLINICIAN_NO_OVERLAP),
    ("scheduling", "Session", PATIENT_NO_OVERLAP),
    ("patients", "DiaryEntry", DIARY_NO_OVERLAP),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for app_label, model_name, constraint in CONSTRAINTS:
        schema_editor.add_constraint(apps.get_model(app_label, model_name), constraint)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for app_label, model_name, constraint in CONSTRAINTS:
        schema_editor.remove_constraint(apps.get_model(app_label, model_name), constraint)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial"), ("patients", "0002_initial")]
    operations = [BtreeGistExtension(), migrations.RunPython(forwards, backwards)]
