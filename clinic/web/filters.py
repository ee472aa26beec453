"""Template filters of the web UI and the patient pages (registered as builtins in settings)."""

from django import template

from clinic.web import display, labels
from patients.contact import format_phone

register = template.Library()

register.filter("label", labels.label)
register.filter("day", display.day_text)
register.filter("when", display.when_text)
register.filter("clock", display.time_text)
register.filter("phone", format_phone)
register.filter("flag_sentence", display.flag_sentence)
