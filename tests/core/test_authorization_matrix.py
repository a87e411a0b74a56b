"""The authorization matrix: every API operation in the schema, as every demo role, against cases
the role's organisation owns, was granted and has nothing to do with.

Each case's person carries markers: an identity marker (name, phone) and a clinical one (notes,
case summary). What each role may see of each case is written out below by hand, from the
roles' work (not from the code's rules): a marker in any response the role may not see, or a 2xx
on a case the role may not touch at all, is a failure. Every request runs in a transaction that is
rolled back, so one request's change does not hide another's leak.
"""

import json
import re
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from directory.models import Organisation, OrganisationKind, User
from hotline import services as hotline_services
from hotline.models import Case, Person
from hotline.services import safety_plans

pytestmark = pytest.mark.django_db

IDENT, ALL = "ident", "all"  # identity only (a responder's brief), or the whole case file
READ = "read"  # the whole case file, to read only (a break-glass grant)

CASE_ROLES_OF_HOTLINE = ("operator1", "operator2", "coordinator1")
SCHOOL = ("teacher1",)  # the demo school's psychology teacher: its screening and flagged students
RESPONDERS = ("police1", "ambulance1", "community1", "expert1")


@dataclass
class Scenario:
    label: str
    case: Case
    related: dict  # path segment -> ids of objects of this case

    @property
    def ident(self) -> list[str]:
        # The name, not the phone: a request that names a phone gets it echoed back (a search
        # form, a pagination link), which tells the role nothing it did not send.
        return [f"IDENT{self.label}"]

    @property
    def clinical(self) -> list[str]:
        return [f"CLIN{self.label}"]


def may_see(username: str, label: str) -> str | None:
    """What a demo user may see of each scenario, from their work."""
    if username == "admin":
        return ALL
    if label == "foreign":  # another hotline's case, granted to nobody here
        return None
    if label == "screened":  # flagged by the school's screening, followed up by the school
        return ALL if username in SCHOOL else None
    if username in SCHOOL:
        return None
    if label == "broken_glass":  # the hospital's own case, opened in an emergency by coordinator1
        return ALL if username == "nurse1" else READ if username == "coordinator1" else None
    if username in CASE_ROLES_OF_HOTLINE:  # the owning hotline works on all of its cases
        return ALL
    if username in ("counsellor1", "counsellor2"):  # not "declined": that referral was refused
        return ALL if label in ("referred", "green_channel") else None
    if username == "nurse1":
        return ALL if label == "green_channel" else None
    if username == "expert1":  # the on-duty psychiatric expert advises on the emergency
        return ALL if label == "dispatched" else None
    if username in RESPONDERS:  # 110, 120, the community: their leg and the brief
        return IDENT if label == "dispatched" else None
    return None  # leader1: counts only


def _person(admin, label: str, phone: str, home_region=None) -> Person:
    return hotline_services.create_person(
        admin,
        name=f"张IDENT{label}",
        phone=phone,
        notes=f"CLIN{label} 既往自伤史",
        home_region=home_region,
    )


def _open(admin, label: str, phone: str, organisation, **kw) -> Case:
    from directory.models import Region

    village = Region.objects.get(code="330502001001")  # 月河社区: 110, 120, community all exist
    person = _person(admin, label, phone, home_region=village)
    return hotline_services.open_case(
        admin,
        person=person,
        owning_organisation=organisation,
        risk="high",
        summary=f"CLIN{label} 有自伤计划",
    )


def _abandoned_call(case: Case, hotline):
    from hotline.models import Call

    sid = f"CA{case.pk:032d}"
    hotline_services.receive_call(
        None,
        hotline=hotline,
        call_sid=sid,
        channel="twilio_voice",
        from_raw=str(case.person.phone),
    )
    hotline_services.call_status_changed(None, call_sid=sid, twilio_status="completed")
    return Call.objects.get(call_sid=sid)


def _live_call(case: Case, hotline, operator):
    sid = f"CA{case.pk + 500:032d}"
    call, _ = hotline_services.receive_call(
        None,
        hotline=hotline,
        call_sid=sid,
        channel="twilio_voice",
        from_raw=str(case.person.phone),
    )
    # Offered to the longest-idle operator on duty, who takes it.
    call.refresh_from_db()
    return hotline_services.accept_call(call.offered_to or operator, call)


def _screened(users, org) -> tuple[Case, dict]:
    """A student flagged by a named screening of the demo school: the school's case and task."""
    from datetime import timedelta

    from django.utils import timezone

    from prevention import services as prevention_services
    from prevention.models import ScreeningTask

    today = timezone.localdate()
    campaign = prevention_services.create_campaign(
        users["teacher1"],
        name="春季筛查",
        organisation=org["demo-school"],
        questionnaires=["phq9", "gad7"],
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=30),
        follow_up_organisation=org["demo-school"],
        records_names=True,
    )
    (slip,) = prevention_services.add_slips(
        users["teacher1"], campaign, group="初二(3)班", labels=["张IDENTscreened"]
    )
    slip = prevention_services.submit_answers(
        slip.code,
        consent_by="self",
        consented_at=timezone.now(),
        answers={"phq9": [3] * 8 + [0], "gad7": [0] * 7},
    )
    hotline_services.update_person(users["admin"], slip.person, notes="CLINscreened 失眠两月")
    tasks = ScreeningTask.objects.filter(participation=slip).values_list("pk", flat=True)
    assert tasks, "the answers were meant to flag the student"
    return slip.case, {"campaigns": [campaign.pk], "tasks": list(tasks)}


def build_world() -> tuple[dict[str, User], list[Scenario]]:
    from clinics import services as clinic_services
    from escalation.services import dispatch as dispatch_services
    from referrals import services as referral_services

    call_command("seed_demo", verbosity=0)
    users = {u.username: u for u in User.objects.all()}
    admin = users["admin"]
    org = {o.code: o for o in Organisation.objects.all()}
    other_hotline = Organisation.objects.create(
        code="other-hotline",
        name="外市热线",
        kind=OrganisationKind.HOTLINE_CENTRE,
        region=org["hotline-centre"].region,
    )
    owned = _open(admin, "owned", "+8613700000001", org["hotline-centre"])
    referred = _open(admin, "referred", "+8613700000002", org["hotline-centre"])
    green = _open(admin, "green_channel", "+8613700000003", org["hotline-centre"])
    dispatched = _open(admin, "dispatched", "+8613700000004", org["hotline-centre"])
    foreign = _open(admin, "foreign", "+8613700000005", other_hotline)
    declined = _open(admin, "declined", "+8613700000006", org["hotline-centre"])
    broken = _open(admin, "broken_glass", "+8613700000007", org["third-hospital"])

    def to_counselling(actor, case: Case, label: str):
        return referral_services.send_referral(
            actor,
            case,
            kind="counselling",
            receiver=org["counselling-centre"],
            sender=org["hotline-centre"],
            reason=f"CLIN{label} 需面谈",
            consent=True,
        )

    counselling = to_counselling(admin, referred, "referred")
    # The green channel to hospital is opened by the counselling centre the hotline referred to.
    to_counselling(admin, green, "green_channel")
    to_hospital = referral_services.send_referral(
        admin,
        green,
        kind="green_channel",
        receiver=org["third-hospital"],
        sender=org["counselling-centre"],
        reason="CLINgreen_channel 需住院评估",
        consent=True,
        service="self_harm_clinic",
    )
    assert to_hospital.pk
    refused = to_counselling(users["operator1"], declined, "declined")
    referral_services.decline(users["counsellor1"], refused, reason="本周已满，请转他处")
    screened, screening = _screened(users, org)
    clinic_services.break_glass(
        users["coordinator1"],
        broken,
        reason="来电者称正在医院天台，需要查看既往病史以便劝说",
        verified=True,  # the coordinator entered a TOTP code
    )
    dispatch = dispatch_services.create_dispatch(
        admin,
        dispatched,
        address="月河社区",
        region=dispatched.person.home_region,
        notes="CLINdispatched 手持刀具",
    )
    scenarios = [
        Scenario("owned", owned, {}),
        Scenario("referred", referred, {"referrals": [counselling.pk]}),
        Scenario("green_channel", green, {}),
        Scenario(
            "dispatched",
            dispatched,
            {
                "dispatches": [dispatch.pk],
                "dispatch-legs": list(dispatch.legs.values_list("pk", flat=True)),
            },
        ),
        Scenario("foreign", foreign, {}),
        Scenario("declined", declined, {}),
        Scenario("broken_glass", broken, {}),
        Scenario("screened", screened, screening),
    ]
    # A call to each hotline that the caller hung up on: a call-back for that hotline's operators.
    for s, hotline in ((scenarios[0], org["hotline-centre"]), (scenarios[4], other_hotline)):
        s.related["callbacks"] = [_abandoned_call(s.case, hotline).callback_task.pk]
    # A text conversation to each hotline, its transcript clinical: only that hotline reads it.
    for s, hotline in ((scenarios[0], org["hotline-centre"]), (scenarios[4], other_hotline)):
        chat = hotline_services.open_conversation(
            "sms", hotline=hotline, from_number=str(s.case.person.phone)
        )
        hotline_services.receive_message(chat, f"CLIN{s.label} 短信里说想结束生命")

    # A live call of the owned case, held by an operator: the conference's operations
    # (supervise, need help, hold, transfer) are walked on a call that can take them.
    _live_call(scenarios[0].case, org["hotline-centre"], users["operator1"])
    for s in scenarios:  # a caller flag on every person, cleared by its own path
        flag = hotline_services.set_flag(
            admin, s.case.person, kind="frequent_caller", reason=f"CLIN{s.label} 反复来电"
        )
        s.related["flags"] = [flag.pk]
    for s in scenarios:  # a safety plan on every case, its words clinical (安全计划)
        safety_plans.save_version(
            admin, s.case, {"reasons": [f"CLIN{s.label} 我的猫"]}, sms_consent=True
        )
    for s in scenarios:
        s.related |= {"cases": [s.case.pk], "people": [s.case.person_id]}
        s.related.setdefault("referrals", list(s.case.referrals.values_list("pk", flat=True)))
        for segment, model_related in (
            ("follow-ups", "follow_ups"),
            ("plans", "assistance_plans"),
            ("calls", "calls"),
        ):
            manager = getattr(s.case, model_related, None)
            if manager is not None:
                s.related.setdefault(segment, list(manager.values_list("pk", flat=True)))
    return users, scenarios


def other_objects() -> dict[str, list[int]]:
    """Item paths of objects outside the scenarios' case files: their first few of each kind."""
    from clinics.models import Admission, AssistancePlan, FollowUp
    from directory.models import Region
    from escalation.models import Alert, DispatchLeg, EscalationPolicy
    from hotline.models import Call
    from referrals.models import Appointment

    models = {
        "organisations": Organisation,
        "regions": Region,
        "alerts": Alert,
        "escalation-policies": EscalationPolicy,
        "admissions": Admission,
        "appointments": Appointment,
        "plans": AssistancePlan,
        "follow-ups": FollowUp,
        "calls": Call,
        "partners": DispatchLeg,  # signed by a partner platform, not a user: refused here
    }
    return {
        segment: list(model.objects.order_by("pk").values_list("pk", flat=True)[:3]) or [1]
        for segment, model in models.items()
    }


def operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]


ID_PARAM = re.compile(r"\{[^}]+\}")


# Item paths with a second id: the parameter and the related objects that fill it.
INNER_PARAMS = {"flag_id": "flags"}


def _segment(path: str) -> str:
    return path.removeprefix("/api/v1/").removeprefix("prevention/").split("/", 1)[0]


def _fill(path: str, pk: int, related: dict) -> list[str]:
    """``path`` with its first id ``pk`` and each inner id from the scenario's own objects."""
    targets = [path.replace(ID_PARAM.search(path).group(0), str(pk), 1)]
    for param, segment in INNER_PARAMS.items():
        if "{" + param + "}" in path:
            ids = related.get(segment, []) if related else []
            targets = [t.replace("{" + param + "}", str(i)) for t in targets for i in ids]
    return targets


def _bodies(s: Scenario) -> dict:
    """A body naming the scenario's case in every way an operation might take it."""
    body = {"case": s.case.pk, "person": s.case.person_id, "phone": str(s.case.person.phone)}
    for key, segment in (("referral", "referrals"), ("dispatch", "dispatches")):
        if s.related.get(segment):
            body[key] = s.related[segment][0]
    return body


def _request(client: APIClient, method: str, path: str, body: dict | None):
    with transaction.atomic():
        if method == "GET":
            response = client.get(path, body or {})
        else:
            response = client.generic(
                method, path, json.dumps(body or {}), content_type="application/json"
            )
        transaction.set_rollback(True)
    return response


@pytest.mark.timeout(600)  # some 4,000 requests: two minutes alone, more beside others
def test_every_operation_as_every_role_reveals_only_what_the_role_may_see():
    users, scenarios = build_world()
    ops = operations()
    assert len(ops) > 80, "the schema lost its operations"
    demo_users = [
        users[u]
        for u in (
            *CASE_ROLES_OF_HOTLINE,
            "counsellor1",
            "counsellor2",
            "nurse1",
            "leader1",
            *RESPONDERS,
            *SCHOOL,
            "admin",
        )
    ]
    others = other_objects()
    failures, requests, unmapped = [], 0, set()
    for user in demo_users:
        client = APIClient()
        client.force_authenticate(user)
        hidden = [
            marker
            for s in scenarios
            for marker in (
                s.ident + s.clinical
                if may_see(user.username, s.label) is None
                else s.clinical
                if may_see(user.username, s.label) == IDENT
                else []
            )
        ]
        for method, path in ops:
            if ID_PARAM.search(path) and not any(_segment(path) in s.related for s in scenarios):
                for pk in others.get(_segment(path), []):
                    target = ID_PARAM.sub(str(pk), path)
                    response = _request(client, method, target, None)
                    requests += 1
                    text = response.content.decode(errors="replace")
                    leaked = [m for m in hidden if m in text]
                    if response.status_code >= 500 or leaked:
                        failures.append(
                            f"{user} {method} {target}: {response.status_code} {leaked}"
                        )
                if _segment(path) not in others:
                    unmapped.add(path)
                continue
            for s in scenarios:
                allowed = may_see(user.username, s.label)
                forbidden_markers = []
                if allowed is None:
                    forbidden_markers = s.ident + s.clinical
                elif allowed == IDENT:
                    forbidden_markers = s.clinical
                if ID_PARAM.search(path):
                    ids = s.related.get(_segment(path), [])
                    targets = [t for pk in ids for t in _fill(path, pk, s.related)]
                    query = None
                else:
                    targets = [path]
                    query = _bodies(s)
                for target in targets:
                    response = _request(client, method, target, query)
                    requests += 1
                    text = response.content.decode(errors="replace")
                    if response.status_code >= 500:
                        failures.append(f"{user} {method} {target}: {response.status_code}")
                        continue
                    leaked = [m for m in forbidden_markers if m in text]
                    if leaked:
                        failures.append(
                            f"{user} {method} {target} ({s.label}): "
                            f"{response.status_code} shows {leaked}"
                        )
                    elif (
                        allowed == READ
                        and method != "GET"
                        and target != path
                        and 200 <= response.status_code < 300
                    ):
                        failures.append(
                            f"{user} {method} {target} ({s.label}): {response.status_code}, a "
                            "change through a read-only grant"
                        )
                    elif allowed is None and target != path and 200 <= response.status_code < 300:
                        failures.append(
                            f"{user} {method} {target} ({s.label}): {response.status_code} on a "
                            "case the role has nothing to do with"
                        )
    print(
        f"authorization matrix: {len(ops)} operations x {len(demo_users)} roles x "
        f"{len(scenarios)} cases = {requests} requests, {len(failures)} failures"
    )
    assert not failures, "\n".join(failures[:80])
    assert not unmapped, f"item paths the matrix does not know how to walk: {unmapped}"
    assert requests > 2000
