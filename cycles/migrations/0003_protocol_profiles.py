"""Protocol profiles (issue 11): the one active protocol becomes the default profile of several.

Renames keep every value: `is_active` → `is_default` (the old active row is the default),
`episodic_max_headache_days` → `episodic_threshold_days`. `episodic_periods` goes: the episodic
rule now reads `episodic_min_diary_days` of gap-free diary.
"""

import cycles.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cycles", "0002_rename_tables")]

    operations = [
        migrations.RemoveConstraint(model_name="protocol", name="one_active_protocol"),
        migrations.RenameField(model_name="protocol", old_name="is_active", new_name="is_default"),
        migrations.AlterField(model_name="protocol", name="is_default", field=models.BooleanField(default=False)),
        migrations.AddConstraint(
            model_name="protocol",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_default", True)), fields=("is_default",), name="one_default_protocol"
            ),
        ),
        migrations.RenameField(
            model_name="protocol", old_name="episodic_max_headache_days", new_name="episodic_threshold_days"
        ),
        migrations.RemoveField(model_name="protocol", name="episodic_periods"),
        migrations.AlterModelOptions(
            name="protocol",
            options={"ordering": ["-is_default", "name"]},
        ),
        migrations.AddField(
            model_name="adverseevent",
            name="onset_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="adverseevent",
            name="reported_late",
            field=models.BooleanField(default=False, help_text="reported after the visit"),
        ),
        migrations.AddField(
            model_name="protocol",
            name="assessment_after_days",
            field=models.PositiveSmallIntegerField(
                default=56, help_text="a cycle is judged once the next treatment is given or this many days have passed"
            ),
        ),
        migrations.AddField(
            model_name="protocol",
            name="backfill_min_notice_hours",
            field=models.PositiveSmallIntegerField(default=24),
        ),
        migrations.AddField(
            model_name="protocol",
            name="backfill_offers",
            field=models.PositiveSmallIntegerField(default=3),
        ),
        migrations.AddField(
            model_name="protocol",
            name="baseline_window_days",
            field=models.PositiveSmallIntegerField(default=90),
        ),
        migrations.AddField(
            model_name="protocol",
            name="episodic_min_diary_days",
            field=models.PositiveSmallIntegerField(default=84),
        ),
        migrations.AddField(
            model_name="protocol",
            name="min_baseline_diary_days",
            field=models.PositiveSmallIntegerField(default=28),
        ),
        migrations.AddField(
            model_name="protocol",
            name="min_cycle_diary_days",
            field=models.PositiveSmallIntegerField(default=28),
        ),
        migrations.AddField(
            model_name="protocol",
            name="overuse_acute_days",
            field=models.PositiveSmallIntegerField(default=10),
        ),
        migrations.AddField(
            model_name="protocol",
            name="requires_authorization",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="protocol",
            name="response_metric",
            field=models.CharField(
                choices=[("headache_days", "Headache Days"), ("migraine_days", "Migraine Days")],
                default="headache_days",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="protocol",
            name="units_per_site",
            field=models.PositiveSmallIntegerField(default=5),
        ),
        migrations.AddField(
            model_name="protocol",
            name="urgent_adverse_events",
            field=models.JSONField(default=cycles.models.default_urgent_adverse_events),
        ),
        migrations.AddField(
            model_name="treatmentrecord",
            name="deviation_reason",
            field=models.TextField(blank=True, help_text="why the record departs from the PREEMPT template"),
        ),
        migrations.AddField(
            model_name="treatmentrecord",
            name="vials",
            field=models.JSONField(blank=True, default=list, help_text="[{size_units, lot_number, lot_expiry}] opened"),
        ),
        migrations.AlterField(
            model_name="adverseevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("neck_pain", "Neck Pain"),
                    ("ptosis", "Ptosis"),
                    ("dysphagia", "Dysphagia"),
                    ("injection_site_pain", "Injection Site Pain"),
                    ("headache_flare", "Headache Flare"),
                    ("muscle_weakness", "Muscle Weakness"),
                    ("breathing_difficulty", "Breathing Difficulty"),
                    ("diplopia", "Diplopia"),
                    ("dysphonia", "Dysphonia"),
                    ("dysarthria", "Dysarthria"),
                    ("generalized_weakness", "Generalized Weakness"),
                    ("allergic_reaction", "Allergic Reaction"),
                    ("other", "Other"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="protocol",
            name="episodic_threshold_days",
            field=models.PositiveSmallIntegerField(
                default=15, help_text="headache days per 28 below which a course may have converted to episodic"
            ),
        ),
        migrations.AlterField(
            model_name="reviewflag",
            name="kind",
            field=models.CharField(
                choices=[
                    ("no_benefit", "No Benefit"),
                    ("missing_response_data", "Missing Response Data"),
                    ("episodic_conversion", "Episodic Conversion"),
                    ("adverse_event", "Adverse Event"),
                    ("overdue", "Overdue"),
                    ("auto_booking_failed", "Auto Booking Failed"),
                    ("medication_overuse", "Medication Overuse"),
                ],
                max_length=32,
            ),
        ),
    ]
