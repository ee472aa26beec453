"""Writes for clinic set-up: locations, clinicians, working hours, time off."""

from datetime import datetime, time

from django.db import transaction

from clinic.errors import ValidationFailed
from scheduling.models import Clinician, Location, TimeOff, WorkingHours


@transaction.atomic
def location_create(*, name: str, time_zone: str) -> Location:
    return Location.objects.create(name=name, time_zone=time_zone)


@transaction.atomic
def location_update(*, location: Location, **fields) -> Location:
    for key, value in fields.items():
        setattr(location, key, value)
    location.save()
    return location


@transaction.atomic
def clinician_create(*, name: str, user=None, locations=(), active: bool = True) -> Clinician:
    clinician = Clinician.objects.create(name=name, user=user, active=active)
    clinician.locations.set(locations)
    return clinician


@transaction.atomic
def clinician_update(*, clinician: Clinician, locations=None, **fields) -> Clinician:
    for key, value in fields.items():
        setattr(clinician, key, value)
    clinician.save()
    if locations is not None:
        clinician.locations.set(locations)
    return clinician


@transaction.atomic
def working_hours_create(
    *, clinician: Clinician, location: Location, weekday: int, start_time: time, end_time: time
) -> WorkingHours:
    """Hours at one location; a clinician cannot be in two places at once, so overlaps are refused."""
    if end_time <= start_time:
        raise ValidationFailed("Hours must end after they start.", fields={"end_time": ["Must be after start_time."]})
    Clinician.objects.select_for_update().get(pk=clinician.pk)
    clash = WorkingHours.objects.filter(
        clinician=clinician, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
    ).first()
    if clash is not None:
        raise ValidationFailed(
            "These hours overlap hours the clinician already has on that day.",
            fields={"start_time": [f"Overlaps {clash.start_time:%H:%M}–{clash.end_time:%H:%M}."]},
        )
    hours = WorkingHours.objects.create(
        clinician=clinician, location=location, weekday=weekday, start_time=start_time, end_time=end_time
    )
    clinician.locations.add(location)
    return hours


@transaction.atomic
def working_hours_delete(*, hours: WorkingHours) -> None:
    hours.delete()


@transaction.atomic
def time_off_delete(*, time_off: TimeOff) -> None:
    time_off.delete()


@transaction.atomic
def time_off_create(*, clinician: Clinician, start: datetime, end: datetime, reason: str = "") -> TimeOff:
    """Time off does not cancel sessions already booked; the front desk moves them."""
    if end <= start:
        raise ValidationFailed("Time off must end after it starts.", fields={"end": ["Must be after start."]})
    return TimeOff.objects.create(clinician=clinician, start=start, end=end, reason=reason)
