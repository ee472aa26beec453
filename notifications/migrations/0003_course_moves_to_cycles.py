"""Course moved to cycles/: the foreign key now names cycles.Course, same table, no database change."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0001_initial"),
        ("notifications", "0002_notification_enqueued_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="course",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to="cycles.course",
                    ),
                ),
            ],
        ),
    ]
