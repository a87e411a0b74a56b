"""Writes of the prevention stage (防范): campaigns and their slips, answers, the flags that
open a case at discovery with a follow-up task, the tasks' acknowledgement, outreach records.

Answers come from a public page with no account: ``submit_answers`` takes no actor (the slip's
one-time code is the authority) and acts as the system on the case file.
"""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Forbidden, Invalid, NotFound, refused_as_conflict
from directory.access import is_administrator
from directory.models import Organisation, OrganisationKind, Region, Role, User
from escalation.models import Severity
from escalation.services import AlertSpec, raise_alert, resolve_by_system
from hotline import services as hotline
from hotline.caseplan import refresh_next_step
from hotline.models import Risk, Stage
from hotline.selectors import case_organisation_ids
from prevention import scoring
from prevention.models import (
    ActivityKind,
    Campaign,
    ConsentRule,
    FlagReason,
    OutreachActivity,
    Participation,
    Scene,
    ScreeningGroup,
    ScreeningResponse,
    ScreeningTask,
)
from prevention.selectors import campaign_staff_org_ids, task_worker_org_ids
from realtime.publish import publish

LOCAL = ZoneInfo("Asia/Shanghai")
CAMPAIGN_KINDS = (OrganisationKind.SCHOOL, OrganisationKind.COUNSELLING_CENTRE)
ITEM9_ALERT_KIND = "screening_item9"
ITEM9_MIN_HOURS = 2
MAX_SLIPS_PER_GROUP = 200
SLIP_CODE = re.compile(r"[A-Z0-9]{1,16}")  # ASCII letters and digits, at most the column's length
# What a slip's code gives away when it is wrong: nothing about whether it exists.
BAD_CODE = _("This code is not valid, has been used, or its screening is not open.")


def _require_campaign_staff(actor, organisation: Organisation) -> None:
    if is_administrator(actor):
        return
    if organisation.pk not in campaign_staff_org_ids(actor):
        raise Forbidden(_("Only staff of %(org)s may run its screening.") % {"org": organisation})


# --- campaigns and slips ------------------------------------------------------------------------


def create_campaign(
    actor,
    *,
    name: str,
    organisation: Organisation,
    questionnaires: list[str],
    starts_on,
    ends_on,
    follow_up_organisation: Organisation,
    consent_rule: str = ConsentRule.GUARDIAN_FOR_MINORS,
    records_names: bool = False,
    follow_up_user: User | None = None,
) -> Campaign:
    """Plan a screening campaign (心理筛查) of a school or the counselling centre."""
    _require_campaign_staff(actor, organisation)
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Give the campaign a name.")]
    if organisation.kind not in CAMPAIGN_KINDS:
        errors["organisation"] = [_("A school or the counselling centre runs a screening.")]
    if follow_up_organisation.kind not in CAMPAIGN_KINDS:
        errors["follow_up_organisation"] = [
            _("The school's psychology teacher or the counselling centre follows up.")
        ]
    chosen = [q for q in (scoring.PHQ9, scoring.GAD7) if q in (questionnaires or [])]
    if not chosen or set(questionnaires) - set(chosen):
        errors["questionnaires"] = [_("Choose PHQ-9, GAD-7 or both.")]
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = [_("The campaign cannot end before it starts.")]
    if consent_rule not in ConsentRule.values:
        errors["consent_rule"] = [_("Choose a consent rule.")]
    if (
        follow_up_user is not None
        and not follow_up_user.memberships.active()
        .filter(organisation=follow_up_organisation)
        .exclude(role__in=[Role.DECISION_MAKER, Role.RESPONDER])
        .exists()
    ):
        errors["follow_up_user"] = [
            _("The follow-up person must work for %(org)s.") % {"org": follow_up_organisation}
        ]
    if errors:
        raise Invalid(_("The campaign cannot be saved as it is."), fields=errors)
    return Campaign.objects.create(
        name=name.strip(),
        organisation=organisation,
        questionnaires=chosen,
        starts_on=starts_on,
        ends_on=ends_on,
        consent_rule=consent_rule,
        records_names=records_names,
        follow_up_organisation=follow_up_organisation,
        follow_up_user=follow_up_user,
        created_by=actor,
    )


def add_slips(
    actor, campaign: Campaign, *, group: str, count: int = 0, labels: list[str] = ()
) -> list[Participation]:
    """Print-ready one-time slips for a class: ``count`` unnamed, or one per name in ``labels``
    (names only when the campaign records them)."""
    _require_campaign_staff(actor, campaign.organisation)
    labels = [label.strip() for label in labels if label.strip()]
    if labels and not campaign.records_names:
        raise Invalid(
            _("This campaign does not record names; give a number of slips instead."),
            fields={"labels": [_("Names are not recorded in this campaign.")]},
        )
    n = len(labels) or count
    if not group.strip():
        raise Invalid(_("Name the class or group."), fields={"group": [_("Required.")]})
    if not 1 <= n <= MAX_SLIPS_PER_GROUP:
        raise Invalid(
            _("Between 1 and %(n)s slips at a time.") % {"n": MAX_SLIPS_PER_GROUP},
            fields={"count": [_("Between 1 and %(n)s.") % {"n": MAX_SLIPS_PER_GROUP}]},
        )
    if campaign.closed_at:
        raise Invalid(_("The campaign is closed."), code="campaign_closed")
    with transaction.atomic():
        grp, _created = ScreeningGroup.objects.get_or_create(campaign=campaign, name=group.strip())
        slips = [
            Participation(campaign=campaign, group=grp, label=labels[i] if labels else "")
            for i in range(n)
        ]
        return Participation.objects.bulk_create(slips)


def close_campaign(actor, campaign: Campaign) -> Campaign:
    _require_campaign_staff(actor, campaign.organisation)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.closed_at is None:
            campaign.closed_at = timezone.now()
            campaign.save(update_fields=["closed_at"])
    return campaign


# --- taking part ------------------------------------------------------------------------------


def open_slip(code: str, now: datetime | None = None) -> Participation:
    """The slip behind a typed code, if it may still be answered (one use, campaign open)."""
    code = "".join((code or "").split()).upper()
    # Only what a slip could carry reaches the database: PostgreSQL refuses a NUL byte (a 500).
    if not SLIP_CODE.fullmatch(code):
        raise Invalid(BAD_CODE, code="bad_code", fields={"code": [BAD_CODE]})
    slip = (
        Participation.objects.select_related("campaign", "group")
        .filter(code=code, answered_at__isnull=True)
        .first()
    )
    if slip is None or not slip.campaign.is_running(now):
        raise Invalid(BAD_CODE, code="bad_code", fields={"code": [BAD_CODE]})
    return slip


def consent_needed_from(campaign: Campaign, *, minor: bool) -> str:
    """ "self" or "guardian": whose consent the campaign's rule asks for."""
    if campaign.consent_rule == ConsentRule.GUARDIAN or (
        campaign.consent_rule == ConsentRule.GUARDIAN_FOR_MINORS and minor
    ):
        return "guardian"
    return "self"


def score_answers(campaign: Campaign, answers: dict) -> dict[str, scoring.Score]:
    """Every questionnaire of the campaign, every item answered 0-3; else errors by field."""
    scores, errors = {}, {}
    for q in campaign.questionnaires:
        given = answers.get(q) or []
        missing = [
            f"{q}_{n}"
            for n, a in enumerate(given + [None] * (len(scoring.ITEMS[q]) - len(given)), 1)
            if a is None
        ]
        if missing:
            errors.update({field: [_("Please choose an answer.")] for field in missing})
            continue
        try:
            scores[q] = scoring.score(q, given)
        except scoring.ScoringError as exc:
            raise Invalid(_("Each answer is one of the four choices."), code="bad_answer") from exc
    if errors:
        raise Invalid(_("Please answer every question."), code="unanswered", fields=errors)
    return scores


def flag_reasons(scores: dict[str, scoring.Score]) -> list[str]:
    """Which rules the scores meet: item 9, the cut-offs (discovery), the watch bands."""
    reasons = []
    phq, gad = scores.get(scoring.PHQ9), scores.get(scoring.GAD7)
    if phq and phq.item9:
        reasons.append(FlagReason.ITEM9.value)
    if phq and phq.total >= settings.PREVENTION_PHQ9_CUTOFF:
        reasons.append(FlagReason.PHQ9.value)
    if gad and gad.total >= settings.PREVENTION_GAD7_CUTOFF:
        reasons.append(FlagReason.GAD7.value)
    if not reasons and any(
        s.band in settings.PREVENTION_WATCH_BANDS for s in (phq, gad) if s is not None
    ):
        reasons.append(FlagReason.WATCH.value)
    return reasons


def end_of_local_day(now: datetime) -> datetime:
    local = now.astimezone(LOCAL)
    return datetime.combine(local.date(), time(23, 59, 59), tzinfo=LOCAL)


def task_due(reason: str, now: datetime) -> datetime:
    if reason == FlagReason.ITEM9:
        # Same day; a flag in the day's last hours still gets ITEM9_MIN_HOURS to be taken on.
        return max(end_of_local_day(now), now + timedelta(hours=ITEM9_MIN_HOURS))
    if reason == FlagReason.WATCH:
        return now + timedelta(days=settings.PREVENTION_WATCH_DAYS)
    return now + timedelta(days=settings.PREVENTION_FLAG_DAYS)


def submit_answers(
    code: str, *, consent_by: str, consented_at: datetime, answers: dict, guardian_minor=False
) -> Participation:
    """Keep one slip's answers with the consent given before them; flag what the rules say.

    The code is the authority (no account): used once, in the campaign's period. Nothing is
    written unless consent was given by whom the campaign's rule asks for."""
    now = timezone.now()
    with transaction.atomic():
        slip = open_slip(code, now)
        # The lock and the re-check stop two submissions of one code both being kept.
        slip = Participation.objects.select_for_update().get(pk=slip.pk)
        if slip.answered_at is not None:
            raise Invalid(BAD_CODE, code="bad_code", fields={"code": [BAD_CODE]})
        campaign = slip.campaign
        if consent_by != consent_needed_from(campaign, minor=guardian_minor):
            raise Invalid(_("Consent is needed before answering."), code="no_consent")
        scores = score_answers(campaign, answers)
        reasons = flag_reasons(scores)
        phq, gad = scores.get(scoring.PHQ9), scores.get(scoring.GAD7)
        ScreeningResponse.objects.create(
            participation=slip,
            campaign=campaign,
            answers={q: answers[q] for q in scores},
            phq9_total=phq.total if phq else None,
            phq9_band=phq.band if phq else "",
            phq9_item9=phq.item9 if phq else None,
            gad7_total=gad.total if gad else None,
            gad7_band=gad.band if gad else "",
            flags=reasons,
        )
        slip.answered_at = now
        slip.consent_by = consent_by
        slip.consented_at = consented_at
        if reasons:
            _follow_up(slip, scores, reasons, now)
        slip.save()
    return slip


def _risk_of(reasons: list[str]) -> str:
    if FlagReason.ITEM9 in reasons:
        return Risk.HIGH
    if FlagReason.WATCH in reasons:
        return Risk.LOW
    return Risk.MODERATE


def _follow_up(slip: Participation, scores, reasons: list[str], now: datetime) -> None:
    """Link the slip to a person, open (or move on) their case and give the follow-up
    organisation a task with its deadline; a positive item 9 alerts at once."""
    campaign = slip.campaign
    watch_only = reasons == [FlagReason.WATCH.value]
    stage = Stage.PREVENTION if watch_only else Stage.DISCOVERY
    slip.flagged = not watch_only
    slip.watched = watch_only
    org = campaign.follow_up_organisation
    school = campaign.organisation.name if campaign.organisation.kind == "school" else ""
    person = hotline.create_person(
        hotline.SYSTEM,
        name=slip.label if campaign.records_names else "",
        is_anonymous=not (campaign.records_names and slip.label),
        school=school,
        home_region=campaign.organisation.region,
        notes=_("Screening %(campaign)s, %(group)s, slip %(id)s")
        % {"campaign": campaign.name, "group": slip.group.name, "id": slip.pk},
    )
    owner = campaign.follow_up_user
    if owner is not None and org.pk not in case_organisation_ids(owner):
        owner = None  # no longer works there: the task goes to the organisation
    summary = _("Flagged by screening (%(campaign)s): %(scores)s") % {
        "campaign": campaign.name,
        "scores": ", ".join(f"{q.upper()} {s.total}" for q, s in scores.items()),
    }
    case = hotline.open_case(
        hotline.SYSTEM,
        person=person,
        owning_organisation=org,
        risk=_risk_of(reasons),
        summary=summary,
        stage=stage,
        owner=owner,
    )
    reason = reasons[0]
    task = ScreeningTask.objects.create(
        participation=slip,
        case=case,
        organisation=org,
        assignee=owner,
        reason=reason,
        created_at=now,
        due_at=task_due(reason, now),
    )
    slip.person, slip.case = person, case
    publish(
        "screening.flagged",
        case=case,
        actor=None,
        data={
            "campaign": campaign.pk,
            "campaign_name": campaign.name,
            "group": slip.group.name,
            "reasons": reasons,
            "scores": {
                q: {"total": s.total, "band": s.band, **({"item9": s.item9} if q == "phq9" else {})}
                for q, s in scores.items()
            },
            "task": task.pk,
            "due": task.due_at.isoformat(),
        },
    )
    if reason == FlagReason.ITEM9:
        raise_alert(item9_alert_spec(task))
    refresh_next_step(case, None)  # the task is the case's next step, due at its deadline


def item9_alert_spec(task: ScreeningTask) -> AlertSpec:
    return AlertSpec(
        dedup_key=f"screening:{task.pk}:item9",
        kind=ITEM9_ALERT_KIND,
        title=_("Screening: self-harm thoughts reported (case #%(case)s); see the student today")
        % {"case": task.case_id},
        severity=Severity.CRITICAL,
        target_user=task.assignee,
        target_organisation=None if task.assignee_id else task.organisation,
        target_role="" if task.assignee_id else Role.COUNSELLOR,
        case=task.case,
        data={"task": task.pk, "due_at": task.due_at.isoformat()},
    )


# --- the follow-up tasks --------------------------------------------------------------------------


def _locked_task(actor, task: ScreeningTask) -> ScreeningTask:
    task = ScreeningTask.objects.select_for_update().get(pk=task.pk)
    if not is_administrator(actor) and task.organisation_id not in task_worker_org_ids(actor):
        raise Forbidden(_("This task belongs to another organisation."))
    return task


def acknowledge_task(actor, task: ScreeningTask) -> ScreeningTask:
    """Taken in hand: the item-9 alert and any overdue alert stop escalating."""
    with transaction.atomic():
        task = _locked_task(actor, task)
        with refused_as_conflict(_("This task is already acknowledged."), code="already_taken"):
            task.acknowledge()
        task.acknowledged_at = timezone.now()
        task.acknowledged_by = actor
        task.save()
        publish("screening.task_acknowledged", case=task.case, actor=actor, data={"task": task.pk})
        note = _("The screening task was acknowledged.")
        resolve_by_system(f"screening:{task.pk}:item9", note)
        resolve_by_system(f"screening:{task.pk}:due", note)
        refresh_next_step(task.case, actor)
    return task


def finish_task(actor, task: ScreeningTask, *, note: str) -> ScreeningTask:
    if not (note or "").strip():
        raise Invalid(_("Say what was done."), fields={"note": [_("Required.")]})
    with transaction.atomic():
        task = _locked_task(actor, task)
        with refused_as_conflict(_("This task is already done."), code="already_done"):
            task.finish()
        now = timezone.now()
        if task.acknowledged_at is None:
            task.acknowledged_at, task.acknowledged_by = now, actor
        task.done_at, task.done_by, task.note = now, actor, note.strip()
        task.save()
        publish("screening.task_done", case=task.case, actor=actor, data={"task": task.pk})
        resolve_by_system(f"screening:{task.pk}:item9", note)
        resolve_by_system(f"screening:{task.pk}:due", note)
        refresh_next_step(task.case, actor)
    return task


def get_task(pk) -> ScreeningTask:
    task = ScreeningTask.objects.filter(pk=pk).first()
    if task is None:
        raise NotFound(_("No such task."))
    return task


# --- outreach ----------------------------------------------------------------------------------


def record_activity(
    actor,
    *,
    kind: str,
    scene: str,
    title: str,
    region: Region,
    organisation: Organisation,
    held_on,
    led_by: str,
    reached: int,
) -> OutreachActivity:
    """宣教活动: a talk, class or community session, where, who led it, how many were reached."""
    if not is_administrator(actor) and organisation.pk not in campaign_staff_org_ids(actor):
        raise Forbidden(_("Record activities of your own organisation."))
    errors = {}
    if kind not in ActivityKind.values:
        errors["kind"] = [_("Choose a kind.")]
    if scene not in Scene.values:
        errors["scene"] = [_("Choose a scene.")]
    if not (title or "").strip():
        errors["title"] = [_("Required.")]
    if not (led_by or "").strip():
        errors["led_by"] = [_("Required.")]
    if not isinstance(reached, int) or reached < 1 or reached > 100000:
        errors["reached"] = [_("A number of people from 1 to 100000.")]
    if held_on and held_on > timezone.localdate():
        errors["held_on"] = [_("Record an activity once it has taken place.")]
    if errors:
        raise Invalid(_("The activity cannot be saved as it is."), fields=errors)
    return OutreachActivity.objects.create(
        kind=kind,
        scene=scene,
        title=title.strip(),
        region=region,
        organisation=organisation,
        held_on=held_on,
        led_by=led_by.strip(),
        reached=reached,
        recorded_by=actor,
    )
