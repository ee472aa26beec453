"""Turn a Notification into the email or SMS that goes out.

Bodies carry a first name, the clinic's name, a local date and time, and a link:
never a drug, a diagnosis, a dose or any clinical word (tests render every
template and check). SMS bodies fit in 160 characters and end with the opt-out.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from icalendar import Calendar, Event

from notifications import links, selectors
from notifications.channels import EmailMessage, PermanentSendError, SmsMessage, message_domain
from notifications.models import Notification
from scheduling.models import Session

SMS_MAX = 160
SMS_OPT_OUT = "Reply STOP to opt out"

Purpose = Notification.Purpose

SUBJECTS = {
    Purpose.BOOKING_CONFIRMATION: "Your appointment is booked",
    Purpose.REMINDER: "Reminder: your appointment on {short}",
    Purpose.RESCHEDULE: "Your appointment has moved to {short}",
    Purpose.CANCELLATION: "Your appointment on {short} is cancelled",
    Purpose.NEXT_SESSION_DUE: "Time to book your next appointment",
    Purpose.DIARY_REQUEST: "Your diary for the last four weeks",
    Purpose.SLOT_OFFER: "An earlier appointment is free on {short}",
}
SESSION_PURPOSES = (Purpose.BOOKING_CONFIRMATION, Purpose.REMINDER, Purpose.RESCHEDULE, Purpose.CANCELLATION)


def when_context(start: datetime, tz: ZoneInfo) -> dict:
    local = start.astimezone(tz)
    return {
        "when": f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}",
        "short": f"{local:%a} {local.day} {local:%b} {local:%H:%M}",
        "date": f"{local:%A} {local.day} {local:%B %Y}",
        "time": f"{local:%H:%M}",
        "clock": f"{local.hour}:{local:%M}",
        "day_short": f"{local:%a} {local.day} {local:%b}",
    }


def context_for(notification: Notification, *, link_url: str | None) -> dict:
    """What every template may use. The session's time is shown in its location's zone."""
    patient = notification.patient
    context = {
        "first_name": patient.given_name,
        "clinic_name": settings.CLINIC_NAME,
        "link": link_url,
        "site_url": settings.SITE_URL,
        "purpose": notification.purpose,
    }
    session = notification.session
    if session is not None:
        start = notification.session_start or session.start
        context.update(when_context(start, session.location.zone))
        context["location_name"] = session.location.name
    offer = None
    if notification.purpose == Purpose.SLOT_OFFER:
        offer = selectors.slot_offer_for(session_id=notification.session_id, patient_id=notification.patient_id)
    if offer is not None and offer.moves is not None and offer.moves.status in Session.UPCOMING_STATUSES:
        # Taking the slot moves the patient's later appointment: the message says which one.
        context["moves"] = when_context(offer.moves.start, offer.moves.location.zone)["date"]
    return context


def ics_for(notification: Notification) -> bytes:
    session = notification.session
    start = notification.session_start or session.start
    cancelled = notification.purpose == Purpose.CANCELLATION
    calendar = Calendar()
    calendar.add("prodid", "-//CycleDesk//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"session-{session.id}@{message_domain()}")
    event.add("dtstamp", notification.created_at or start)
    event.add("dtstart", start)
    event.add("dtend", start + session.duration)
    event.add("summary", f"Appointment at {settings.CLINIC_NAME}")
    event.add("location", session.location.name)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # A later message about the same event (a move, a cancellation) replaces the earlier one.
    stamp = notification.created_at or start
    event.add("sequence", int(stamp.timestamp()) // 60)
    calendar.add_component(event)
    return calendar.to_ical()


def render_email(notification: Notification, *, link_url: str | None) -> EmailMessage:
    context = context_for(notification, link_url=link_url)
    purpose = notification.purpose
    subject = f"{settings.CLINIC_NAME}: " + SUBJECTS[purpose].format(**context)
    attachments = []
    if purpose in SESSION_PURPOSES:
        attachments.append(("appointment.ics", ics_for(notification), "text/calendar"))
    return EmailMessage(
        to=notification.patient.email,
        subject=subject,
        text=render_to_string(f"notifications/email/{purpose}.txt", context).strip() + "\n",
        html=render_to_string(f"notifications/email/{purpose}.html", context),
        message_id=notification.message_id,
        attachments=attachments,
    )


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def sms_body(purpose: str, context: dict) -> str:
    """The SMS text, shortened until it fits: a long first name is cut, then the clinic name goes (then a
    slot offer's location), then the first name, and last a template's compact form if it has one."""
    template = f"notifications/sms/{purpose}.txt"
    first = context.get("first_name") or ""
    attempts = [context, {**context, "first_name": first[:8]}]
    attempts += [{**context, "clinic_name": "", "first_name": first[:n]} for n in (20, 8)]
    attempts += [{**context, "clinic_name": "", "location_name": "", "first_name": first[:n]} for n in (20, 8)]
    attempts += [{**context, "clinic_name": "", "first_name": ""}, {**context, "compact": True}]
    for candidate in attempts:
        body = _one_line(render_to_string(template, candidate))
        if len(body) <= SMS_MAX:
            break
    if len(body) > SMS_MAX or not body.endswith(SMS_OPT_OUT):
        # Only a very long SITE_URL gets here; retrying cannot make it shorter.
        raise PermanentSendError(f"SMS for {purpose} cannot fit in {SMS_MAX} characters ({len(body)}).")
    return body


def render_sms(notification: Notification, *, link_url: str | None) -> SmsMessage:
    context = context_for(notification, link_url=link_url)
    return SmsMessage(
        to=notification.patient.phone,
        body=sms_body(notification.purpose, context),
        idempotency_key=f"notification-{notification.id}",
    )


def link_url_for(notification: Notification) -> str | None:
    if notification.purpose == Purpose.NEXT_SESSION_DUE:
        return None  # nothing to act on: the patient calls or is called to book
    return links.url_for(links.link_for_notification(notification=notification))
