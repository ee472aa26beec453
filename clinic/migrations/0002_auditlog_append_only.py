from django.db import migrations

# On PostgreSQL the database itself refuses to change or remove audit rows.
FORWARD = """
CREATE OR REPLACE FUNCTION clinic_auditlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'clinic_auditlog is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clinic_auditlog_append_only
    BEFORE UPDATE OR DELETE ON clinic_auditlog
    FOR EACH ROW EXECUTE FUNCTION clinic_auditlog_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS clinic_auditlog_append_only ON clinic_auditlog;
DROP FUNCTION IF EXISTS clinic_auditlog_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
