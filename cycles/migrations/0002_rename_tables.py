"""The moved tables take cycles/ names; rows, keys and constraints go with them.

PostgreSQL keeps foreign keys to a renamed table (they follow the table, not its
name); SQLite ≥ 3.26 rewrites the references in the other tables' schema. The
content types are relabelled so that permissions granted on the old models keep
pointing at the same rows.
"""

from django.db import migrations

MOVED = {
    "protocol": "scheduling",
    "course": "scheduling",
    "treatmentrecord": "scheduling",
    "adverseevent": "scheduling",
    "reviewflag": "patients",
}


def relabel_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old_app in MOVED.items():
        if not content_type.objects.filter(app_label="cycles", model=model).exists():
            content_type.objects.filter(app_label=old_app, model=model).update(app_label="cycles")


def restore_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old_app in MOVED.items():
        content_type.objects.filter(app_label="cycles", model=model).update(app_label=old_app)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("cycles", "0001_initial"),
        ("notifications", "0003_course_moves_to_cycles"),
        ("patients", "0003_reviewflag_moves_to_cycles"),
        ("scheduling", "0006_course_moves_to_cycles"),
    ]

    operations = [
        *(migrations.AlterModelTable(name=model, table=None) for model in MOVED),
        migrations.RenameIndex(
            model_name="reviewflag", new_name="review_flag_status_kind", old_name="patients_re_status_b287f9_idx"
        ),
        migrations.RunPython(relabel_content_types, restore_content_types),
    ]
