"""Protocol, Course, TreatmentRecord and AdverseEvent moved to cycles/ (cycles 0001): state only, the tables stay."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0001_initial"),
        ("notifications", "0003_course_moves_to_cycles"),
        ("patients", "0003_reviewflag_moves_to_cycles"),
        ("scheduling", "0005_session_course_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name="course",
                    name="patient",
                ),
                migrations.RemoveField(
                    model_name="course",
                    name="protocol",
                ),
                migrations.AlterField(
                    model_name="session",
                    name="course",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sessions",
                        to="cycles.course",
                    ),
                ),
                migrations.RemoveField(
                    model_name="treatmentrecord",
                    name="injector",
                ),
                migrations.RemoveField(
                    model_name="treatmentrecord",
                    name="recorded_by",
                ),
                migrations.RemoveField(
                    model_name="treatmentrecord",
                    name="session",
                ),
                migrations.DeleteModel(
                    name="AdverseEvent",
                ),
                migrations.DeleteModel(
                    name="Protocol",
                ),
                migrations.DeleteModel(
                    name="Course",
                ),
                migrations.DeleteModel(
                    name="TreatmentRecord",
                ),
            ],
        ),
    ]
