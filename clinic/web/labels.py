"""The words staff read for every code the apps store: one mapping, used by every template (`label`).

Codes never reach a page: a status, flag kind, channel, purpose, skip reason,
decision, adverse event or muscle group is shown through `label()`, and a code
missing here is turned into words from its spelling rather than printed raw.
"""

LABELS: dict[str, str] = {
    # session status
    "booked": "Booked",
    "confirmed": "Confirmed",
    "checked_in": "Checked in",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
    # session kind
    "treatment": "Treatment",
    "consultation": "Consultation",
    "review": "Review",
    # patient and course status
    "active": "Active",
    "paused": "Paused",
    "discharged": "Discharged",
    "stopped": "Stopped",
    # review flag kinds
    "no_benefit": "No benefit",
    "missing_response_data": "Missing diary",
    "episodic_conversion": "Consider a pause",
    "adverse_event": "Adverse event",
    "overdue": "Overdue",
    "auto_booking_failed": "Could not book automatically",
    "medication_overuse": "Medication overuse",
    "open": "Open",
    "resolved": "Resolved",
    # decisions
    "continue": "Continue treatment",
    "stop": "Stop the course",
    "adjust_dose": "Adjust the dose",
    "other": "Other",
    # response
    "not_started": "Not started",
    "insufficient_data": "Not enough diary",
    "responder": "Responding",
    "non_responder": "Not responding",
    "benefit": "Benefit",
    # notifications: purpose, channel, status, skip reasons
    "booking_confirmation": "Booking confirmation",
    "reminder": "Reminder",
    "next_session_due": "Time to book",
    "diary_request": "Diary request",
    "cancellation": "Cancellation notice",
    "reschedule": "Change of time",
    "slot_offer": "Offer of an earlier slot",
    "email": "Email",
    "sms": "SMS",
    "pending": "Planned",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "skipped": "Not sent",
    "session_cancelled": "the session was cancelled",
    "session_rescheduled": "the session moved",
    "session_not_cancelled": "the cancellation was undone",
    "session_completed": "the session took place",
    "session_checked_in": "the patient was checked in",
    "session_no_show": "the patient did not come",
    "too_late": "its time had passed when the session was booked",
    "no_consent": "no consent for this channel",
    "no_address": "no address for this channel",
    "patient_discharged": "the patient is discharged",
    "course_inactive": "the course is paused or stopped",
    "already_booked": "a session is already booked",
    "quiet_hours": "held for quiet hours",
    "sms_cap": "held by the SMS limit",
    # adverse events
    "neck_pain": "Neck pain",
    "ptosis": "Ptosis (drooping eyelid)",
    "dysphagia": "Dysphagia (difficulty swallowing)",
    "injection_site_pain": "Injection-site pain",
    "headache_flare": "Headache flare",
    "muscle_weakness": "Muscle weakness",
    "breathing_difficulty": "Breathing difficulty",
    "diplopia": "Diplopia (double vision)",
    "dysphonia": "Dysphonia (voice change)",
    "dysarthria": "Dysarthria (slurred speech)",
    "generalized_weakness": "Generalised weakness",
    "allergic_reaction": "Allergic reaction",
    "mild": "Mild",
    "moderate": "Moderate",
    "severe": "Severe",
    "serious": "Serious",
    # muscle groups (PREEMPT)
    "corrugator": "Corrugator",
    "procerus": "Procerus",
    "frontalis": "Frontalis",
    "temporalis": "Temporalis",
    "occipitalis": "Occipitalis",
    "cervical_paraspinal": "Cervical paraspinal",
    "trapezius": "Trapezius",
    # patient link actions
    "confirm": "Confirmed by the patient",
    "cancel": "Cancelled by the patient",
}


def label(code) -> str:
    """The staff-facing words for a stored code; an unknown code is spelled out, never shown raw."""
    if code is None or code == "":
        return ""
    text = str(code)
    if text in LABELS:
        return LABELS[text]
    return text.replace("_", " ").capitalize()
