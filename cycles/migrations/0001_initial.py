"""The treatment course moves from scheduling/ and patients/ to cycles/ (issue 10).

State only: the tables, rows, indexes and constraints stay exactly as they are
(`db_table` names the old tables); 0002 then renames the tables in the database.
"""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("patients", "0003_reviewflag_moves_to_cycles"),
        ("scheduling", "0005_session_course_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="AdverseEvent",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("neck_pain", "Neck Pain"),
                                    ("ptosis", "Ptosis"),
                                    ("dysphagia", "Dysphagia"),
                                    ("injection_site_pain", "Injection Site Pain"),
                                    ("headache_flare", "Headache Flare"),
                                    ("muscle_weakness", "Muscle Weakness"),
                                    ("breathing_difficulty", "Breathing Difficulty"),
                                    ("other", "Other"),
                                ],
                                max_length=32,
                            ),
                        ),
                        (
                            "severity",
                            models.CharField(
                                choices=[
                                    ("mild", "Mild"),
                                    ("moderate", "Moderate"),
                                    ("severe", "Severe"),
                                    ("serious", "Serious"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("recorded_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="adverse_events",
                                to="patients.patient",
                            ),
                        ),
                        (
                            "recorded_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "session",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="adverse_events",
                                to="scheduling.session",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "scheduling_adverseevent",
                        "ordering": ["recorded_at"],
                    },
                ),
                migrations.CreateModel(
                    name="Protocol",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("name", models.CharField(default="Chronic migraine (PREEMPT)", max_length=100)),
                        ("is_active", models.BooleanField(default=True)),
                        ("interval_days", models.PositiveSmallIntegerField(default=84)),
                        ("min_interval_days", models.PositiveSmallIntegerField(default=84)),
                        ("window_days", models.PositiveSmallIntegerField(default=14)),
                        ("session_minutes", models.PositiveSmallIntegerField(default=30)),
                        ("review_after_sessions", models.PositiveSmallIntegerField(default=3)),
                        ("response_threshold_pct", models.PositiveSmallIntegerField(default=30)),
                        ("standard_units", models.PositiveSmallIntegerField(default=155)),
                        ("max_units", models.PositiveSmallIntegerField(default=195)),
                        ("cumulative_limit_units", models.PositiveSmallIntegerField(default=400)),
                        ("cumulative_limit_days", models.PositiveSmallIntegerField(default=90)),
                        ("auto_book", models.BooleanField(default=True)),
                        ("min_failed_preventives", models.PositiveSmallIntegerField(default=2)),
                        ("chronic_min_headache_days", models.PositiveSmallIntegerField(default=15)),
                        ("chronic_min_migraine_days", models.PositiveSmallIntegerField(default=8)),
                        (
                            "episodic_max_headache_days",
                            models.PositiveSmallIntegerField(
                                default=15,
                                help_text="below this for `episodic_periods` periods in a row → consider pause",
                            ),
                        ),
                        ("episodic_periods", models.PositiveSmallIntegerField(default=3)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "scheduling_protocol",
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("is_active", True)),
                                fields=("is_active",),
                                name="one_active_protocol",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("response_threshold_pct__gte", 1), ("response_threshold_pct__lte", 100)
                                ),
                                name="protocol_threshold_range",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Course",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        (
                            "status",
                            models.CharField(
                                choices=[("active", "Active"), ("paused", "Paused"), ("stopped", "Stopped")],
                                default="active",
                                max_length=16,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("stopped_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="courses",
                                to="patients.patient",
                            ),
                        ),
                        (
                            "protocol",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="courses",
                                to="cycles.protocol",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "scheduling_course",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="ReviewFlag",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("no_benefit", "No Benefit"),
                                    ("missing_response_data", "Missing Response Data"),
                                    ("episodic_conversion", "Episodic Conversion"),
                                    ("adverse_event", "Adverse Event"),
                                    ("overdue", "Overdue"),
                                    ("auto_booking_failed", "Auto Booking Failed"),
                                ],
                                max_length=32,
                            ),
                        ),
                        ("cycle", models.PositiveSmallIntegerField(default=0)),
                        ("details", models.JSONField(blank=True, default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("resolved", "Resolved")], default="open", max_length=16
                            ),
                        ),
                        ("raised_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "decision",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("continue", "Continue"),
                                    ("stop", "Stop"),
                                    ("adjust_dose", "Adjust Dose"),
                                    ("other", "Other"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "course",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="review_flags",
                                to="cycles.course",
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="review_flags",
                                to="patients.patient",
                            ),
                        ),
                        (
                            "resolved_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "session",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="review_flags",
                                to="scheduling.session",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "patients_reviewflag",
                        "ordering": ["-raised_at"],
                    },
                ),
                migrations.CreateModel(
                    name="TreatmentRecord",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("units_by_muscle", models.JSONField()),
                        ("sites", models.PositiveSmallIntegerField()),
                        ("total_units", models.PositiveSmallIntegerField()),
                        ("units_wasted", models.PositiveSmallIntegerField(default=0)),
                        ("lot_number", models.CharField(max_length=64)),
                        ("lot_expiry", models.DateField()),
                        ("notes", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "injector",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="treatments",
                                to="scheduling.clinician",
                            ),
                        ),
                        (
                            "recorded_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "session",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="treatment",
                                to="scheduling.session",
                            ),
                        ),
                    ],
                    options={"db_table": "scheduling_treatmentrecord"},
                ),
                migrations.AddConstraint(
                    model_name="course",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status", "active")), fields=("patient",), name="one_active_course"
                    ),
                ),
                migrations.AddIndex(
                    model_name="reviewflag",
                    index=models.Index(fields=["status", "kind"], name="patients_re_status_b287f9_idx"),
                ),
                migrations.AddConstraint(
                    model_name="reviewflag",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("course", "kind", "cycle"),
                        name="one_open_flag_per_course_kind_cycle",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="treatmentrecord",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("total_units__gt", 0)), name="treatment_units_positive"
                    ),
                ),
            ],
        ),
    ]
