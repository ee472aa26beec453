"""The start page with today's counts, and the due list."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic import inputs
from clinic.audit import audit_record
from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK, has_role
from clinic.timezones import day_bounds, today_in
from clinic.web import selectors as web_selectors
from clinic.web.access import staff_required
from clinic.web.views.common import Action, chosen_location, session_actions
from cycles import due as due_list

DUE_LIMIT = 200
HOME_DUE_DAYS = 14
MAX_WITHIN_DAYS = 366


def _due_rows(within_days: int):
    # protocols, zones, due courses with patient and protocol (the due list's own selector), and their
    # prior authorisations when a profile requires them (cycles.due.due_rows)
    return due_list.due_rows(due_list.due_list(within_days=within_days)[:DUE_LIMIT])


@require_GET
@staff_required
def home(request):
    locations = web_selectors.locations()
    location = chosen_location(request, locations)
    is_clinician = has_role(request.user, CLINICIAN)
    today_counts = web_selectors.sessions_today_by_location(locations=locations)
    due_rows = _due_rows(HOME_DUE_DAYS)
    context = {
        "locations": [(loc, today_counts.get(loc.id, 0)) for loc in locations],
        "location": location,
        "sessions_today": sum(today_counts.values()),
        "due_count": len(due_rows),
        "overdue_count": sum(1 for row in due_rows if row.overdue),
        "due_days": HOME_DUE_DAYS,
        "is_front_desk": has_role(request.user, FRONT_DESK, CLINIC_ADMIN),
        "is_clinician": is_clinician,
        "is_admin": has_role(request.user, CLINIC_ADMIN),
    }
    shown = []
    if is_clinician:
        context["open_flags"] = sum(web_selectors.open_flag_counts().values())
        clinician = getattr(request.user, "clinician", None)
        if clinician is not None and location is not None:
            start, end = day_bounds(today_in(location.zone), location.zone)
            mine = web_selectors.clinician_sessions_today(clinician=clinician, start=start, end=end)
            now = timezone.now()
            for s in mine:
                s.can = session_actions(s, now)
            context["my_sessions"] = mine
            shown = [s.patient for s in mine]
    audit_record(request=request, action=Action.READ, resource="session", patients=shown)
    return render(request, "web/home.html", context)


@require_GET
@staff_required
def due(request):
    within_days = inputs.parse_whole_number(request.GET.get("within_days"), default=14, maximum=MAX_WITHIN_DAYS)
    rows = _due_rows(within_days)
    audit_record(request=request, action=Action.READ, resource="due_list", patient_ids=[row.patient_id for row in rows])
    return render(request, "web/due.html", {"rows": rows, "within_days": within_days, "limit": DUE_LIMIT})
