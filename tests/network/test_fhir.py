"""FHIR R4 (R4B models) export of referrals and Encounters reported back."""

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from clinics.models import Admission
from prevention.models import Campaign, Participation, ScreeningGroup, ScreeningResponse
from referrals import services as referral_services
from referrals.models import ReferralKind
from tests.factories import MembershipFactory, UserFactory

PATIENT_FIELDS = {"resourceType", "id", "identifier", "name", "gender", "birthDate", "telecom"}


def _member(username, org, role):
    user = UserFactory(username=username)
    MembershipFactory(user=user, organisation=org, role=role)
    return user


@pytest.fixture
def every_kind(care_network, referral, counsellor_a, nurse, operator):
    """One referral of every kind, each with a member of its receiver."""
    case = referral.case
    person = case.person
    person.gender, person.birth_year = "female", 2008
    person.save()
    green = referral_services.send_referral(
        counsellor_a,
        case,
        kind="green_channel",
        receiver=care_network["hospital"],
        service="youth_ward",
        consent=True,
        reason="自伤风险，需住院评估",
    )
    consortium = referral_services.send_referral(
        nurse,
        case,
        kind="consortium",
        consent=False,
        consent_override_reason="本人昏迷，监护人未到场",
        reason="就近康复",
    )
    care = referral_services.send_referral(
        operator, case, kind="care_group", receiver=care_network["care_group"], consent=True
    )
    receivers = {
        ReferralKind.COUNSELLING: counsellor_a,
        ReferralKind.GREEN_CHANNEL: nurse,
        ReferralKind.CONSORTIUM: _member(
            "wx_doctor", care_network["consortium_wx"], "hospital_staff"
        ),
        ReferralKind.CARE_GROUP: _member("carer", care_network["care_group"], "counsellor"),
    }
    return {r.kind: (r, receivers[r.kind]) for r in (referral, green, consortium, care)}


def test_every_referral_kind_exports_a_bundle_that_fhir_resources_validates(client_for, every_kind):
    assert set(every_kind) == set(ReferralKind.values)
    for kind, (referral, receiver) in every_kind.items():
        response = client_for(receiver).get(f"/api/v1/referrals/{referral.pk}/fhir/")
        assert response.status_code == 200, (kind, response.content)
        assert response["Content-Type"].startswith("application/fhir+json")
        bundle = Bundle.model_validate_json(response.content)
        assert bundle.type == "collection"
        types = [e.resource.get_resource_type() for e in bundle.entry]
        for needed in ("Patient", "ServiceRequest", "Condition", "Observation", "Consent"):
            assert needed in types, (kind, types)
        assert types.count("Organization") == 2
        request = next(
            e.resource for e in bundle.entry if e.resource.get_resource_type() == "ServiceRequest"
        )
        assert request.performer[0].reference == f"Organization/org-{referral.receiver_id}"
        assert request.priority == {"high": "asap", "imminent": "stat"}.get(
            referral.urgency, request.priority
        )
        consent = next(
            e.resource for e in bundle.entry if e.resource.get_resource_type() == "Consent"
        )
        assert consent.provision.type == ("permit" if referral.consent else "deny")


def test_the_patient_carries_only_the_minimal_fields(client_for, every_kind):
    consented, nurse = every_kind[ReferralKind.GREEN_CHANNEL]
    body = client_for(nurse).get(f"/api/v1/referrals/{consented.pk}/fhir/").json()
    patient = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert set(patient) <= PATIENT_FIELDS
    assert patient["gender"] == "female" and patient["birthDate"] == "2008"
    assert patient["telecom"][0]["value"] == "+8613800000002"
    assert "address" not in patient and "小周" in patient["name"][0]["text"]
    # Without consent the phone stays home.
    unconsented, doctor = every_kind[ReferralKind.CONSORTIUM]
    body = client_for(doctor).get(f"/api/v1/referrals/{unconsented.pk}/fhir/").json()
    patient = next(
        e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert "telecom" not in patient


def _screened(person, organisation, *, phq9, gad7):
    """A flagged slip linked to the person, with its scores (what prevention's flagging leaves)."""
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        name="筛查",
        organisation=organisation,
        questionnaires=["phq9", "gad7"],
        starts_on=today,
        ends_on=today,
        follow_up_organisation=organisation,
    )
    group = ScreeningGroup.objects.create(campaign=campaign, name="初二(3)班")
    slip = Participation.objects.create(
        campaign=campaign, group=group, person=person, flagged=True, answered_at=timezone.now()
    )
    ScreeningResponse.objects.create(
        participation=slip, campaign=campaign, phq9_total=phq9, gad7_total=gad7
    )


def test_phq9_and_gad7_totals_appear_with_their_loinc_codes(client_for, every_kind, network):
    referral, counsellor = every_kind[ReferralKind.COUNSELLING]
    _screened(referral.case.person, network["centre_a"], phq9=16, gad7=11)
    body = client_for(counsellor).get(f"/api/v1/referrals/{referral.pk}/fhir/").json()
    codes = {
        e["resource"]["code"]["coding"][0]["code"]: e["resource"].get("valueInteger")
        for e in body["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    assert codes["44261-6"] == 16 and codes["70274-6"] == 11


def test_only_the_sender_and_receiver_may_export(
    client_for,
    every_kind,
    operator,
    counsellor_b,
    responder,
    decision_maker,
    outsider,
    administrator,
    coordinator,
):
    referral, _ = every_kind[ReferralKind.GREEN_CHANNEL]
    for user in (
        operator,
        counsellor_b,
        responder,
        decision_maker,
        outsider,
        administrator,
        coordinator,
    ):
        response = client_for(user).get(f"/api/v1/referrals/{referral.pk}/fhir/")
        assert response.status_code in (403, 404), user
    sender = every_kind[ReferralKind.COUNSELLING][1]  # counsellor_a sent the green channel
    assert client_for(sender).get(f"/api/v1/referrals/{referral.pk}/fhir/").status_code == 200
    assert client_for(outsider).get("/api/v1/referrals/999999/fhir/").status_code == 404


def _encounter(status, ident="enc-1", places=("青少年病区", "3")):
    return {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "identifier": [{"system": "urn:hospital:encounter", "value": ident}],
        "location": [{"location": {"display": p}} for p in places],
        "hospitalization": {"dischargeDisposition": {"text": "出院，社区随访"}},
    }


def test_an_encounter_admits_and_discharges_once(client_for, every_kind, nurse, counsellor_a):
    referral, _ = every_kind[ReferralKind.GREEN_CHANNEL]
    hospital = client_for(nurse)
    hospital.post(f"/api/v1/referrals/{referral.pk}/acknowledge/")
    url = f"/api/v1/referrals/{referral.pk}/fhir/encounter/"
    first = hospital.post(url, _encounter("in-progress"), format="json")
    assert first.status_code == 201, first.content
    again = hospital.post(url, _encounter("in-progress"), format="json")
    assert again.status_code == 200
    assert Admission.objects.filter(referral=referral).count() == 1
    assert (
        client_for(counsellor_a).post(url, _encounter("finished"), format="json").status_code == 403
    )
    done = hospital.post(url, _encounter("finished"), format="json")
    assert done.status_code == 201
    assert Admission.objects.get(referral=referral).state == "discharged"


def test_invalid_fhir_is_400_with_an_operation_outcome(client_for, every_kind, nurse):
    referral, _ = every_kind[ReferralKind.GREEN_CHANNEL]
    url = f"/api/v1/referrals/{referral.pk}/fhir/encounter/"
    for body in (
        {"resourceType": "Patient"},
        {"resourceType": "Encounter", "status": "nonsense"},
        {**_encounter("in-progress"), "identifier": []},
        ["x"],
    ):
        response = client_for(nurse).post(url, body, format="json")
        assert response.status_code == 400, body
        OperationOutcome.model_validate_json(response.content)
    assert Admission.objects.count() == 0
