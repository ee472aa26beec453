"""Writes for protocol profiles and courses."""

from django.db import transaction

from clinic.errors import ValidationFailed
from cycles.models import Protocol


@transaction.atomic
def protocol_update(*, protocol: Protocol, **fields) -> Protocol:
    locked = Protocol.objects.select_for_update().get(pk=protocol.pk)
    for key, value in fields.items():
        setattr(locked, key, value)
    if locked.max_units < locked.standard_units:
        raise ValidationFailed("max_units is below standard_units.", fields={"max_units": ["Below standard_units."]})
    if locked.min_interval_days > locked.interval_days:
        raise ValidationFailed(
            "min_interval_days is above interval_days.", fields={"min_interval_days": ["Above interval_days."]}
        )
    locked.save()
    return locked
