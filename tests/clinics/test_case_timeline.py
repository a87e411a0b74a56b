"""The case page's timeline in words, what each role reads of it, and the green channel sent from
the counselling page."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from clinics.timeline import KIND_OF_FAMILY, KINDS, entries
from realtime.audiences import EVENT_TYPES
from realtime.labels import EVENT_LABELS, UNKNOWN
from realtime.models import Event
from realtime.publish import publish
from referrals import services as referral_services
from referrals.models import GreenChannelBooking, HospitalSlot, Referral

# Types never shown on a case: reads and drill-downs are the read log's, the surge is no case's.
NOT_ON_A_CASE = {
    "case.read",
    "dashboard.drill_down",
    "person.anonymised",
    "queue.surge",
    "queue.surge_ended",
    "operator.presence_changed",
}
RAW_TYPE = re.compile(r"\b[a-z_]+\.[a-z_]+\b")


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def timeline_html(page) -> str:
    html = page.content.decode()
    start = html.index('id="timeline"')
    return html[start : html.index("</section>", start)]


def test_every_event_type_about_a_case_has_words_and_a_kind():
    missing = sorted(set(EVENT_TYPES) - NOT_ON_A_CASE - set(EVENT_LABELS))
    assert missing == []
    families = {t.split(".", 1)[0] for t in set(EVENT_TYPES) - NOT_ON_A_CASE}
    assert families <= set(KIND_OF_FAMILY)
    assert set(KIND_OF_FAMILY.values()) <= set(KINDS)


def test_every_event_type_renders_in_words_never_as_its_raw_type(hotline_case, operator):
    for type_ in sorted(set(EVENT_TYPES) - NOT_ON_A_CASE):
        Event.objects.create(type=type_, case=hotline_case, actor=operator, data={})
    found = entries(Event.objects.filter(case=hotline_case).order_by("id"))
    assert len(found) >= len(set(EVENT_TYPES) - NOT_ON_A_CASE)
    for entry in found:
        assert entry.title and not RAW_TYPE.fullmatch(entry.title), entry
        assert entry.title != str(UNKNOWN)


def test_the_case_page_says_each_step_with_its_details_in_chinese(referral, counsellor_a):
    referral_services.acknowledge(counsellor_a, referral)
    referral_services.pre_assess(
        counsellor_a,
        referral,
        risk="high",
        presenting_problem="失眠两周，学业压力",
        recommendation="green_channel",
        notes="建议尽快住院评估",
    )
    page = signed_in(counsellor_a).get(f"/care/cases/{referral.case_id}/")
    assert page.status_code == 200
    timeline = timeline_html(page)
    assert RAW_TYPE.search(re.sub(r"<[^>]+>", " ", timeline)) is None
    steps = ("新转介", "转介已确认", "先期研判已完成", "失眠两周，学业压力", "建议尽快住院评估")
    for words in steps:
        assert words in timeline
    assert "高三学生" in timeline  # the hotline's notes the referral carries
    html = page.content.decode()
    assert 'id="pre-assessments"' in html and "绿色通道转医院" in html


def test_the_filter_shows_one_kind(referral, counsellor_a):
    referral_services.acknowledge(counsellor_a, referral)
    only = timeline_html(
        signed_in(counsellor_a).get(f"/care/cases/{referral.case_id}/?kind=referral")
    )
    assert "转介已确认" in only
    assert 'data-kind="case"' not in only
    everything = timeline_html(signed_in(counsellor_a).get(f"/care/cases/{referral.case_id}/"))
    assert everything.count("<li") > only.count("<li")


def test_a_centre_reads_only_the_events_addressed_to_it(referral, counsellor_a, operator):
    publish(
        "call.queued",
        case=referral.case,
        actor=operator,
        data={"caller_name": "只给热线看的来电"},
        audiences=[f"orgrole:{referral.sender_id}:operator"],
    )
    counsellor_view = timeline_html(signed_in(counsellor_a).get(f"/care/cases/{referral.case_id}/"))
    assert "只给热线看的来电" not in counsellor_view
    operator_view = timeline_html(signed_in(operator).get(f"/care/cases/{referral.case_id}/"))
    assert "只给热线看的来电" in operator_view


@pytest.fixture
def hospital_slot(network):
    start = timezone.now().replace(microsecond=0) + timedelta(hours=6)
    return HospitalSlot.objects.create(
        hospital=network["hospital"],
        service="youth_ward",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity=2,
    )


def test_the_counsellor_books_a_green_channel_and_the_nurse_reads_the_assessment(
    referral, counsellor_a, nurse, hospital_slot
):
    referral_services.acknowledge(counsellor_a, referral)
    referral_services.pre_assess(
        counsellor_a,
        referral,
        risk="high",
        presenting_problem="反复自伤",
        recommendation="green_channel",
        notes="家属同意陪同",
    )
    inbox = signed_in(counsellor_a).get("/care/counselling/").content.decode()
    assert "剩余 2 个名额" in inbox and "反复自伤" in inbox
    answer = signed_in(counsellor_a).post(
        f"/care/referrals/{referral.pk}/green-channel/",
        {"slot": hospital_slot.pk, "reason": "自伤风险高", "consent": "on"},
        follow=True,
    )
    assert "已预约" in answer.content.decode()
    sent = Referral.objects.get(parent=referral)
    assert sent.kind == "green_channel" and sent.receiver_id == hospital_slot.hospital_id
    assert GreenChannelBooking.objects.get(referral=sent).slot == hospital_slot
    hospital = signed_in(nurse).get("/care/hospital/").content.decode()
    assert "自伤风险高" in hospital and "反复自伤" in hospital and "家属同意陪同" in hospital
    transfers = hospital[hospital.index('id="transfers"') : hospital.index('id="admissions"')]
    assert "接收转诊" in transfers and "接听" not in transfers
    case_page = signed_in(nurse).get(f"/care/cases/{referral.case_id}/").content.decode()
    assert "反复自伤" in case_page  # the pre-assessment the transfer carries
    assert "高三学生" not in case_page  # not the hotline's notes


def test_a_green_channel_without_a_hospital_is_refused_in_words(referral, counsellor_a):
    referral_services.acknowledge(counsellor_a, referral)
    answer = signed_in(counsellor_a).post(
        f"/care/referrals/{referral.pk}/green-channel/",
        {"hospital": "", "service": "youth_ward", "reason": "x", "consent": "on"},
        follow=True,
    )
    assert answer.status_code == 200
    assert "接收" in answer.content.decode()
    assert not Referral.objects.filter(parent=referral).exists()


def test_the_hospital_page_empty_state_is_words(nurse):
    html = signed_in(nurse).get("/care/hospital/").content.decode()
    assert "暂无待处理的绿色通道转诊" in html
    assert "医院转诊</td>" not in html


def test_the_green_channel_reaches_the_nurse_live_feed(
    referral, counsellor_a, nurse, hospital_slot
):
    from realtime.selectors import events_visible_to

    referral_services.acknowledge(counsellor_a, referral)
    signed_in(counsellor_a).post(
        f"/care/referrals/{referral.pk}/green-channel/",
        {"slot": hospital_slot.pk, "reason": "自伤风险高", "consent": "on"},
    )
    # The hospital page's transfers region re-reads itself on these (data-live-refresh).
    types = {e.type for e in events_visible_to(nurse)}
    assert {"referral.sent", "green_channel.booked"} <= types


def test_an_assistance_plan_with_a_measure_and_a_check_in_from_the_case_page(
    care_network, referral, counsellor_a
):
    from clinics.models import AssistancePlan

    client = signed_in(counsellor_a)
    case_url = f"/care/cases/{referral.case_id}/"
    client.post(
        f"/care/cases/{referral.case_id}/plan/",
        {"care_group": care_network["care_group"].pk, "goal": "恢复上学", "next": case_url},
    )
    plan = AssistancePlan.objects.get(case=referral.case)
    refused = client.post(
        f"/care/plans/{plan.pk}/measure/",
        {"kind": "school_liaison", "description": "联系班主任", "owner": "", "next": case_url},
        follow=True,
    )
    assert "请选择负责落实此措施的人员" in refused.content.decode()
    assert not plan.measures.exists()
    client.post(
        f"/care/plans/{plan.pk}/measure/",
        {
            "kind": "school_liaison",
            "description": "联系班主任",
            "owner": counsellor_a.pk,
            "next_check_in": "2031-05-01T09:00",
            "next": case_url,
        },
    )
    measure = plan.measures.get()
    page = client.post(
        f"/care/measures/{measure.pk}/check-in/",
        {"note": "已与班主任通话", "done": "on", "next": case_url},
        follow=True,
    ).content.decode()
    assert "措施已完成" in page
    plans = page[page.index('id="plans"') : page.index('id="timeline"')]
    assert "恢复上学" in plans and "联系班主任" in plans and "已与班主任通话" in plans
    timeline = page[page.index('id="timeline"') :]
    assert "已制定帮扶计划" in timeline and "帮扶计划新增措施" in timeline


def test_the_case_page_links_a_coordinator_to_the_merge_page_and_nobody_else(
    hotline_case, coordinator, operator
):
    merge = f"/console/people/{hotline_case.person_id}/merge/"
    page = signed_in(coordinator).get(f"/care/cases/{hotline_case.pk}/")
    assert page.status_code == 200
    assert f'href="{merge}"' in page.content.decode()
    assert signed_in(coordinator).get(merge).status_code == 200
    page = signed_in(operator).get(f"/care/cases/{hotline_case.pk}/")
    assert page.status_code == 200 and merge not in page.content.decode()
