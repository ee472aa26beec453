from django.db import migrations

# TRUNCATE fires no row trigger, so the append-only triggers of 0002 let it empty the table:
# a statement trigger refuses it (also as part of `TRUNCATE auth_user CASCADE`).
FORWARD = """
CREATE OR REPLACE FUNCTION clinic_auditlog_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'clinic_auditlog is append-only: TRUNCATE is refused';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clinic_auditlog_no_truncate
    BEFORE TRUNCATE ON clinic_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_auditlog_no_truncate();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS clinic_auditlog_no_truncate ON clinic_auditlog;
DROP FUNCTION IF EXISTS clinic_auditlog_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0004_auditlog_actor")]
    operations = [migrations.RunPython(forwards, backwards)]
