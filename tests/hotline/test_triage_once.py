"""Triage locks the call, then the case, once each, checks the operator once, and writes the
same events as the case file's public services would."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline import services
from hotline.models import Case, StageVisit
from realtime.models import Event
from tests.hotline.conftest import SCREEN_NONE

MODERATE = {
    **SCREEN_NONE,
    "wish_to_be_dead": True,
    "active_thoughts": True,
    "method_thoughts": True,
    "intent": False,
    "plan": False,
}
# Measured on PostgreSQL: 49 (was 65 when triage called set_risk, advance_case_if_behind and
# set_next_step, each locking the case and checking membership again); of them 14 are the
# clinics app's receiver scheduling three follow-ups. The computed next step (hotline.caseplan)
# adds two refreshes of ~7 queries each: the follow-ups' and the triage's last one; the one plan
# per case (the open plan read and locked), the call-back check and the draft's delete add 5;
# the operator's status from every contact they hold (a second text conversation) adds 1.
MAX_QUERIES = 71


def test_a_triage_runs_few_queries_and_locks_the_case_once(
    operator, held_call, django_assert_max_num_queries
):
    before = Event.objects.order_by("-id").values_list("id", flat=True).first()
    with CaptureQueriesContext(connection) as seen, django_assert_max_num_queries(MAX_QUERIES):
        services.triage_call(operator, held_call, screen=MODERATE, disposition="resolved")
    case_locks = [
        q["sql"]
        for q in seen.captured_queries
        if q["sql"].lstrip().startswith('SELECT "hotline_case"') and "FOR UPDATE" in q["sql"]
    ]
    if connection.features.has_select_for_update:
        # Triage's own lock; the two next-step refreshes and the one follow-up plan's read take
        # the row this transaction already holds.
        assert len(case_locks) == 4
    events = Event.objects.filter(id__gt=before).order_by("id")
    assert list(events.values_list("type", flat=True)) == [
        "case.risk_changed",
        "case.stage_changed",
        "operator.presence_changed",
        "follow_up.scheduled",
        "follow_up.scheduled",
        "follow_up.scheduled",
        "case.next_step_set",
        "call.triaged",
    ]
    by_type = {e.type: e.data for e in events}
    assert by_type["case.risk_changed"]["from"] == "none"
    assert by_type["case.risk_changed"]["to"] == "moderate"
    assert by_type["case.stage_changed"] == {
        "from": "discovery",
        "to": "intervention",
        "reason": "Triaged on a hotline call",
    }
    assert by_type["case.next_step_set"]["next_step"].startswith("Follow-up call")
    case = Case.objects.get(pk=held_call.case_id)
    assert (case.stage, case.risk) == ("intervention", "moderate")
    assert list(StageVisit.objects.filter(case=case).values_list("stage", "left_at")) == [
        ("discovery", case.stage_entered_at),
        ("intervention", None),
    ]


def test_a_case_already_past_intervention_is_not_moved_back(operator, coordinator, held_call):
    services.advance_case(operator, held_call.case, "treatment")
    before = Event.objects.order_by("-id").values_list("id", flat=True).first()
    services.triage_call(operator, held_call, screen=SCREEN_NONE, disposition="resolved")
    types = list(Event.objects.filter(id__gt=before).values_list("type", flat=True))
    assert "case.stage_changed" not in types and "case.risk_changed" not in types
    assert Case.objects.get(pk=held_call.case_id).stage == "treatment"
