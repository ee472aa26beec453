"""FHIR R4 export of one patient: a Bundle (type `collection`) built with fhir.resources.

fhir.resources 8 ships R5 at the top level; R4B (`fhir.resources.R4B`) is the
R4-compatible release used here (R4B changed no resource used below).

What goes in, all from rows the caller loaded:
- Patient: identifier (MRN), name, birth date, phone and email, active unless discharged.
- Appointment per session, any status (FHIR status mapped from ours).
- Observation per diary entry: headache days over the diary period (`effectivePeriod`),
  with migraine days, acute-medication days, HIT-6 and MIDAS as components.
- Procedure per completed treatment session: CPT 64615, the units and lot when recorded.

Every resource is referenced by `urn:uuid:<our id>`, so the bundle stands alone.
No database access here.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.procedure import Procedure, ProcedurePerformer

FHIR_VERSION = "4.0.1"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

# Our session statuses in FHIR's Appointment.status vocabulary.
APPOINTMENT_STATUS = {
    "booked": "booked",
    "confirmed": "booked",
    "checked_in": "checked-in",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}


def urn(uuid) -> str:
    return f"urn:uuid:{uuid}"


def _local_code(site_url: str, code: str, display: str) -> CodeableConcept:
    """A code from CycleDesk's own code system: no standard code says "headache days in a diary period"."""
    return CodeableConcept(
        coding=[{"system": f"{site_url}/fhir/CodeSystem/headache-diary", "code": code, "display": display}],
        text=display,
    )


def _days(value: int) -> dict:
    return {"value": value, "unit": "days", "system": UCUM, "code": "d"}


def patient_resource(patient, *, site_url: str) -> FhirPatient:
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "use": "mobile"})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    return FhirPatient(
        id=str(patient.id),
        identifier=[
            {
                "use": "usual",
                "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}], "text": "MRN"},
                "system": f"{site_url}/fhir/mrn",
                "value": patient.mrn,
            }
        ],
        active=patient.status != "discharged",
        name=[{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        telecom=telecom or None,
        birthDate=patient.date_of_birth,
    )


def procedure_id(session_id) -> uuid.UUID:
    """The Procedure of a treatment session: its own id, derived from the session's, stable across exports."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"cycledesk:procedure:{session_id}")


def _treatment(session):
    try:
        return session.treatment
    except ObjectDoesNotExist:
        return None


def appointment_resource(session, *, patient_ref: str, patient_name: str) -> Appointment:
    participants = [
        AppointmentParticipant(actor={"reference": patient_ref, "display": patient_name}, status="accepted"),
        AppointmentParticipant(actor={"display": session.clinician.name}, status="accepted"),
        AppointmentParticipant(actor={"display": session.location.name}, status="accepted"),
    ]
    return Appointment(
        id=str(session.id),
        status=APPOINTMENT_STATUS[session.status],
        cancelationReason={"text": session.cancel_reason}
        if session.status == "cancelled" and session.cancel_reason
        else None,
        serviceType=[{"text": session.kind}],
        description=f"{session.get_kind_display()} at {session.location.name}",
        start=session.start,
        end=session.end,
        minutesDuration=int(session.duration.total_seconds() // 60),
        created=session.created_at,
        participant=participants,
    )


def observation_resource(entry, *, patient_ref: str, site_url: str) -> Observation:
    components = [
        ObservationComponent(
            code=_local_code(site_url, "migraine-days", "Migraine days"), valueQuantity=_days(entry.migraine_days)
        ),
        ObservationComponent(
            code=_local_code(site_url, "acute-medication-days", "Acute medication days"),
            valueQuantity=_days(entry.acute_medication_days),
        ),
    ]
    if entry.hit6 is not None:
        components.append(
            ObservationComponent(code=_local_code(site_url, "hit-6", "HIT-6 total score"), valueInteger=entry.hit6)
        )
    if entry.midas is not None:
        components.append(
            ObservationComponent(code=_local_code(site_url, "midas", "MIDAS total score"), valueInteger=entry.midas)
        )
    return Observation(
        id=str(entry.id),
        status="final",
        category=[{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        code=_local_code(site_url, "headache-days", "Headache days"),
        subject={"reference": patient_ref},
        effectivePeriod={"start": entry.period_start, "end": entry.period_end},
        issued=entry.created_at,
        valueQuantity=_days(entry.headache_days),
        component=components,
    )


def procedure_resource(session, *, patient_ref: str) -> Procedure:
    record = _treatment(session)
    injector = record.injector.name if record else session.clinician.name
    notes = []
    used = []
    body_sites = []
    if record:
        notes.append(
            f"{record.total_units} U at {record.sites} sites; {record.units_wasted} U wasted "
            f"(modifier {record.waste_modifier}); lot {record.lot_number}, expires {record.lot_expiry:%Y-%m-%d}."
        )
        if record.notes:
            notes.append(record.notes)
        used.append(
            {"coding": [{"system": HCPCS, "code": "J0585", "display": "Injection, onabotulinumtoxinA, 1 unit"}]}
        )
        body_sites = [
            {"text": f"{muscle.replace('_', ' ')}: {units} U"}
            for muscle, units in sorted(record.units_by_muscle.items())
            if units
        ]
    return Procedure(
        id=str(procedure_id(session.id)),
        status="completed",
        code={
            "coding": [
                {
                    "system": CPT,
                    "code": "64615",
                    "display": "Chemodenervation of muscle(s); muscle(s) innervated by facial, trigeminal, "
                    "cervical spinal and accessory nerves, bilateral (eg, for chronic migraine)",
                }
            ],
            "text": "OnabotulinumtoxinA injection for chronic migraine (PREEMPT)",
        },
        subject={"reference": patient_ref},
        performedDateTime=session.start,
        performer=[ProcedurePerformer(actor={"display": injector})],
        location={"display": session.location.name},
        bodySite=body_sites or None,
        usedCode=used or None,
        note=[{"text": text} for text in notes] or None,
    )


def patient_bundle(
    *, patient, sessions: Iterable, diary_entries: Iterable, site_url: str, generated_at: datetime
) -> Bundle:
    """The patient, an Appointment per session, an Observation per diary entry, a Procedure per treatment.

    `sessions` need `clinician`, `location` and `treatment` (the TreatmentRecord, when recorded) loaded.
    """
    patient_ref = urn(patient.id)
    name = f"{patient.given_name} {patient.family_name}"
    sessions = list(sessions)
    entries = [BundleEntry(fullUrl=patient_ref, resource=patient_resource(patient, site_url=site_url))]
    entries += [
        BundleEntry(
            fullUrl=urn(session.id),
            resource=appointment_resource(session, patient_ref=patient_ref, patient_name=name),
        )
        for session in sessions
    ]
    entries += [
        BundleEntry(
            fullUrl=urn(entry.id),
            resource=observation_resource(entry, patient_ref=patient_ref, site_url=site_url),
        )
        for entry in diary_entries
    ]
    entries += [
        BundleEntry(
            fullUrl=urn(procedure_id(session.id)), resource=procedure_resource(session, patient_ref=patient_ref)
        )
        for session in sessions
        if session.kind == "treatment" and session.status == "completed"
    ]
    return Bundle(type="collection", timestamp=generated_at, entry=entries)
