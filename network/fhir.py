"""FHIR R4 export of a referral (转介) for the receiving hospital's systems.

Built and validated with ``fhir.resources``' R4B models (R4B is FHIR 4.3, the R4 line): every
resource is constructed as a model, so a Bundle that does not validate never leaves the server.
The Patient carries only what the referral's frozen snapshot gives a receiver: a name or alias,
gender, birth year and, with consent, the phone.
"""

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest

from hotline.models import Person, Triage
from hotline.triage import ITEMS
from prevention.models import ScreeningResponse
from referrals.models import Referral

SYSTEM = "urn:crisisline"  # our own identifiers: urn:crisisline:<what>
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
PHQ9_TOTAL = ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]")
GAD7_TOTAL = ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]")
# Urgency (our risk levels) -> FHIR request priority.
PRIORITY = {
    "imminent": "stat",
    "high": "asap",
    "moderate": "urgent",
    "low": "routine",
    "none": "routine",
}
GENDER = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}
RISK_CODES = "urn:crisisline:risk"
SCREEN_ITEMS = "urn:crisisline:c-ssrs-screen"


def _ref(resource_type: str, rid: str, display: str = "") -> Reference:
    return Reference(reference=f"{resource_type}/{rid}", display=display or None)


def _concept(text: str, system: str = "", code: str = "", display: str = "") -> CodeableConcept:
    codings = [Coding(system=system, code=code, display=display or None)] if code else None
    return CodeableConcept(coding=codings, text=text or None)


def patient(referral: Referral) -> Patient:
    """Only what the receiver needs (最小必要): name or alias, gender, birth year, the phone
    when the person consented to the referral."""
    person: Person = referral.case.person
    shown = "" if person.is_anonymous else (person.name or person.alias)
    telecom = None
    if referral.consent and person.phone:
        telecom = [ContactPoint(system="phone", value=str(person.phone), use="mobile")]
    return Patient(
        id=f"person-{person.pk}",
        identifier=[Identifier(system=f"{SYSTEM}:person", value=str(person.pk))],
        name=[HumanName(text=shown)] if shown else None,
        gender=GENDER.get(person.gender, "unknown"),
        birthDate=str(person.birth_year) if person.birth_year else None,
        telecom=telecom,
    )


def organization(org) -> Organization:
    return Organization(
        id=f"org-{org.pk}",
        identifier=[Identifier(system=f"{SYSTEM}:organisation", value=org.code)],
        name=org.name,
        active=org.is_active,
    )


def practitioner(user) -> Practitioner:
    display = user.get_full_name() or user.username
    return Practitioner(
        id=f"user-{user.pk}",
        identifier=[Identifier(system=f"{SYSTEM}:user", value=str(user.pk))],
        name=[HumanName(text=display)],
    )


def service_request(referral: Referral, subject: Reference) -> ServiceRequest:
    requester = (
        _ref("Practitioner", f"user-{referral.sent_by_id}")
        if referral.sent_by_id
        else _ref("Organization", f"org-{referral.sender_id}", referral.sender.name)
    )
    reason = referral.reason or referral.snapshot.get("case_summary", "")
    return ServiceRequest(
        id=f"referral-{referral.pk}",
        identifier=[Identifier(system=f"{SYSTEM}:referral", value=str(referral.pk))],
        status="active" if referral.is_active else "completed",
        intent="order",
        category=[_concept(referral.get_kind_display(), f"{SYSTEM}:referral-kind", referral.kind)],
        code=_concept("Referral", SNOMED, "3457005", "Patient referral"),
        priority=PRIORITY.get(referral.urgency, "routine"),
        subject=subject,
        authoredOn=referral.sent_at.isoformat(),
        occurrenceDateTime=referral.ack_due_at.isoformat(),
        requester=requester,
        performer=[_ref("Organization", f"org-{referral.receiver_id}", referral.receiver.name)],
        reasonCode=[_concept(reason)] if reason else None,
        reasonReference=[_ref("Condition", f"risk-{referral.pk}")],
        supportingInfo=[_ref("Consent", f"consent-{referral.pk}")],
    )


def risk_condition(referral: Referral, subject: Reference) -> Condition:
    risk = referral.snapshot.get("risk") or referral.urgency
    return Condition(
        id=f"risk-{referral.pk}",
        clinicalStatus=_concept(
            "active", "http://terminology.hl7.org/CodeSystem/condition-clinical", "active"
        ),
        code=_concept(f"Suicide risk: {risk}", RISK_CODES, risk),
        subject=subject,
        recordedDate=referral.sent_at.isoformat(),
    )


def risk_observation(referral: Referral, subject: Reference) -> Observation:
    """The risk screen (C-SSRS-like items) as components, the level as the value."""
    triage = Triage.objects.filter(case=referral.case).order_by("-created_at").first()
    components = None
    if triage is not None:
        components = [
            ObservationComponent(
                code=_concept(item, SCREEN_ITEMS, item),
                valueBoolean=getattr(triage, item),
            )
            for item in ITEMS
            if getattr(triage, item) is not None
        ]
    risk = triage.risk if triage else (referral.snapshot.get("risk") or referral.urgency)
    return Observation(
        id=f"screen-{referral.pk}",
        status="final",
        category=[
            _concept(
                "survey",
                "http://terminology.hl7.org/CodeSystem/observation-category",
                "survey",
            )
        ],
        code=_concept("Suicide risk screen", RISK_CODES, "screen"),
        subject=subject,
        effectiveDateTime=(triage.created_at if triage else referral.sent_at).isoformat(),
        valueCodeableConcept=_concept(risk, RISK_CODES, risk),
        component=components or None,
    )


def screening_observations(referral: Referral, subject: Reference) -> list[Observation]:
    """PHQ-9 and GAD-7 totals of the person's prevention screenings, where there are any."""
    found = []
    responses = ScreeningResponse.objects.filter(
        participation__person=referral.case.person
    ).order_by("created_at")
    for response in responses:
        for (code, display), total, name in (
            (PHQ9_TOTAL, response.phq9_total, "phq9"),
            (GAD7_TOTAL, response.gad7_total, "gad7"),
        ):
            if total is None:
                continue
            found.append(
                Observation(
                    id=f"{name}-{response.pk}",
                    status="final",
                    code=_concept(display, LOINC, code, display),
                    subject=subject,
                    effectiveDateTime=response.created_at.isoformat(),
                    valueInteger=total,
                )
            )
    return found


def consent(referral: Referral, subject: Reference) -> Consent:
    """The person's consent to the referral, or the documented override (refused as ``deny``)."""
    provision = "permit" if referral.consent else "deny"
    return Consent(
        id=f"consent-{referral.pk}",
        status="active",
        scope=_concept(
            "treatment", "http://terminology.hl7.org/CodeSystem/consentscope", "treatment"
        ),
        category=[_concept("referral", LOINC, "57016-8", "Privacy policy acknowledgement")],
        patient=subject,
        dateTime=referral.sent_at.isoformat(),
        organization=[_ref("Organization", f"org-{referral.sender_id}")],
        policyRule=_concept(referral.consent_override_reason or "consent given"),
        provision={"type": provision},
    )


def referral_bundle(referral: Referral, base: str = "urn:crisisline:fhir/") -> Bundle:
    """A ``collection`` Bundle: Patient, ServiceRequest, Condition, Observations, Consent,
    Organizations and the Practitioner who sent it."""
    pat = patient(referral)
    subject = _ref("Patient", pat.id)
    resources = [
        pat,
        service_request(referral, subject),
        risk_condition(referral, subject),
        risk_observation(referral, subject),
        *screening_observations(referral, subject),
        consent(referral, subject),
        organization(referral.sender),
        organization(referral.receiver),
    ]
    if referral.sent_by_id:
        resources.append(practitioner(referral.sent_by))
    return Bundle(
        id=f"referral-{referral.pk}",
        type="collection",
        timestamp=referral.sent_at.isoformat(),
        identifier=Identifier(system=f"{SYSTEM}:referral-bundle", value=str(referral.pk)),
        entry=[
            BundleEntry(fullUrl=f"{base}{r.get_resource_type()}/{r.id}", resource=r)
            for r in resources
        ],
    )
