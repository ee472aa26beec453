from datetime import date, timedelta

from django import forms

from clinic import inputs
from patients.models import DiaryEntry


class SessionActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("confirm", "Confirm"), ("cancel", "Cancel")])
    session = forms.UUIDField(widget=forms.HiddenInput, required=False)


class OfferActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("accept", "Take this appointment"), ("decline", "No, thank you")])
    offer = forms.UUIDField(widget=forms.HiddenInput, required=False)


class DiaryForm(forms.Form):
    period_start = inputs.DateField(
        label="First day of the period", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    period_end = inputs.DateField(
        label="Last day of the period", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    headache_days = forms.IntegerField(label="Days with a headache", min_value=0, max_value=31)
    migraine_days = forms.IntegerField(label="Of those, days with a migraine", min_value=0, max_value=31)
    acute_medication_days = forms.IntegerField(
        label="Days you took pain or acute medicine", min_value=0, max_value=31, initial=0
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and (end - start).days + 1 > DiaryEntry.MAX_PERIOD_DAYS:
            self.add_error("period_end", f"A period is at most {DiaryEntry.MAX_PERIOD_DAYS} days.")
        return data


def last_four_weeks(today: date) -> dict:
    """The 28 days up to yesterday, as the diary form's initial period."""
    return {"period_start": today - timedelta(days=28), "period_end": today - timedelta(days=1)}
