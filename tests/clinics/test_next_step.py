"""Every open case has an owner and a due next step, computed from its open items (caseplan)."""

from datetime import timedelta

from django.utils import timezone

from clinics import services as clinic_services
from clinics.models import FollowUp
from escalation import services as escalation_services
from escalation.models import Alert
from escalation.sources import idle_cases, poll_sources
from hotline import services as hotline_services
from hotline.models import Case, Shift
from referrals import services as referral_services
from tests.escalation.conftest import responders  # noqa: F401 - shared fixture
from tests.referrals.conftest import refer


def _case(pk) -> Case:
    return Case.objects.get(pk=pk)


def test_a_new_case_with_nothing_open_is_itself_an_item_for_the_on_duty_coordinator(
    network, operator, coordinator, settings
):
    settings.CASE_IDLE_HOURS = 48
    now = timezone.now()
    Shift.objects.create(
        hotline=network["hotline"],
        user=coordinator,
        duty_role="lead",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=7),
    )
    person = hotline_services.create_person(operator, name="小林")
    case = hotline_services.open_case(
        operator, person=person, owning_organisation=network["hotline"]
    )
    case = _case(case.pk)
    assert case.next_step_kind == "decide" and case.next_step == "Decide: close or plan"
    assert timedelta(hours=47) < case.next_step_due - now < timedelta(hours=49)
    assert case.responsible_role == "coordinator"
    assert case.responsible_organisation == network["hotline"]
    assert case.responsible_user == coordinator


def test_the_referral_receiver_answers_once_it_acknowledged(
    network, operator, counsellor_a, hotline_case, slot_for
):
    referral = refer(operator, hotline_case)
    case = _case(hotline_case.pk)
    assert case.next_step_kind == "referral_ack" and case.next_step_due == referral.ack_due_at
    assert case.responsible_role == "coordinator"  # nobody has taken it yet
    referral_services.acknowledge(counsellor_a, referral)
    case = _case(hotline_case.pk)
    assert case.responsible_role == "referral_receiver"
    assert case.responsible_organisation == network["centre_a"]
    assert case.responsible_user == counsellor_a
    assert "Book the first visit" in case.next_step
    slot = slot_for(counsellor_a, 30)
    referral_services.schedule(counsellor_a, referral, slot=slot)
    case = _case(hotline_case.pk)
    assert case.next_step_kind == "appointment" and case.next_step_due == slot.starts_at


def test_the_hospital_answers_while_admitted_and_the_follow_up_assignee_after(
    network, operator, counsellor_a, nurse, hotline_case
):
    first = refer(operator, hotline_case)
    transfer = referral_services.send_referral(
        counsellor_a,
        hotline_case,
        kind="green_channel",
        receiver=network["hospital"],
        service="youth_ward",
        consent=True,
    )
    transfer = referral_services.acknowledge(nurse, transfer)
    admission = clinic_services.admit(nurse, transfer, ward="青少年病区", bed="3")
    case = _case(hotline_case.pk)
    # The hotline's referral is still unacknowledged and due first; the hospital answers.
    assert case.next_step_kind == "referral_ack" and case.responsible_role == "hospital"
    assert case.responsible_organisation == network["hospital"]
    referral_services.revoke(operator, first, reason="已转医院")
    case = _case(hotline_case.pk)
    assert case.next_step_kind == "admission" and "discharge" in case.next_step
    clinic_services.discharge(nurse, admission, summary="好转", follow_up_plan="一周后回访")
    case = _case(hotline_case.pk)
    first = FollowUp.objects.filter(case=case, state="scheduled").order_by("due_at").first()
    assert case.next_step_kind == "follow_up" and case.next_step_due == first.due_at
    assert case.responsible_role == "follow_up_assignee"
    assert case.responsible_organisation == network["hospital"]


def test_follow_ups_done_leave_the_decision_and_a_dispatch_closed_no_longer_reads_in_progress(
    network,
    operator,
    hotline_case,
    responders,  # noqa: F811
):
    follow_ups = clinic_services.schedule_follow_ups(
        operator, hotline_case, reason="resolved_call", organisation=network["hotline"]
    )
    assert _case(hotline_case.pk).next_step_due == follow_ups[0].due_at
    for f in follow_ups:
        clinic_services.record_attempt(operator, f, outcome="reached")
    assert _case(hotline_case.pk).next_step_kind == "decide"
    dispatch = escalation_services.create_dispatch(operator, hotline_case, address="月河街12号")
    case = _case(hotline_case.pk)
    assert case.next_step_kind == "dispatch" and "Emergency dispatch" in case.next_step
    assert case.next_step_due == min(leg.ack_deadline for leg in dispatch.legs.all())
    for leg in dispatch.legs.all():
        escalation_services.acknowledge_leg(operator, leg)
        for state in ("en_route", "on_scene", "done"):
            escalation_services.advance_leg(operator, leg, state)
    escalation_services.close_dispatch(
        operator, dispatch, outcome="person_reached", help_reached=True
    )
    case = _case(hotline_case.pk)
    assert "dispatch" not in case.next_step.lower() and case.next_step_kind == "decide"
    assert case.next_step_due > timezone.now()


def test_a_manual_step_stands_and_always_has_a_due_time(
    operator, coordinator, hotline_case, settings
):
    settings.CASE_IDLE_HOURS = 10
    hotline_services.set_next_step(coordinator, hotline_case, next_step="明早电话家属")
    case = _case(hotline_case.pk)
    assert case.next_step == "明早电话家属" and case.next_step_kind == "manual"
    assert timedelta(hours=9) < case.next_step_due - timezone.now() < timedelta(hours=11)


def test_an_idle_case_alerts_its_owner_when_missed_and_not_before(
    network, operator, coordinator, hotline_case
):
    now = timezone.now()
    case = _case(hotline_case.pk)
    assert case.next_step_kind == "decide"
    assert list(idle_cases(now)) == []
    poll_sources(now)
    assert not Alert.objects.filter(kind="case_idle").exists()
    Case.objects.filter(pk=case.pk).update(owner=coordinator)
    later = case.next_step_due + timedelta(minutes=1)
    poll_sources(later)
    alert = Alert.objects.get(kind="case_idle")
    assert alert.case_id == case.pk and alert.target_user == coordinator
    poll_sources(later)
    assert Alert.objects.filter(kind="case_idle").count() == 1
    # A decision (a follow-up planned) clears the condition; the alert resolves itself.
    clinic_services.schedule_follow_up(operator, case, due_at=now + timedelta(days=1))
    poll_sources(later)
    alert.refresh_from_db()
    assert alert.state == "resolved"


def test_after_mixed_work_no_open_case_lacks_an_owner_or_a_due_step(
    network, operator, counsellor_a, nurse, coordinator, hotline_case, slot_for
):
    people = [hotline_services.create_person(operator, name=f"来电人{n}") for n in range(4)]
    cases = [
        hotline_services.open_case(operator, person=p, owning_organisation=network["hotline"])
        for p in people
    ]
    r1 = refer(operator, cases[0])
    referral_services.acknowledge(counsellor_a, r1)
    referral_services.schedule(counsellor_a, r1, slot=slot_for(counsellor_a, 20))
    referral_services.record_no_show(counsellor_a, r1)
    r2 = refer(operator, cases[1])
    referral_services.decline(counsellor_a, r2, reason="满员")
    clinic_services.schedule_follow_ups(
        operator, cases[2], reason="resolved_call", organisation=network["hotline"]
    )
    hotline_services.close_case(coordinator, cases[3], reason="已解决")
    hotline_services.reopen_case(coordinator, cases[3], reason="再次来电")
    refer(operator, hotline_case)
    open_cases = Case.objects.open()
    assert open_cases.count() == 5
    for case in open_cases:
        assert case.next_step and case.next_step_due and case.next_step_kind, case.pk
        assert case.responsible_role and case.responsible_organisation_id, case.pk
    reopened = Case.objects.get(pk=cases[3].pk)
    assert reopened.next_step_kind == "decide"
    hotline_services.close_case(coordinator, reopened, reason="已解决")
    closed = Case.objects.get(pk=cases[3].pk)
    assert closed.next_step == "" and closed.next_step_due is None
    assert closed.responsible_role == ""
