"""A call-back nobody dials alerts the hotline's coordinators; one dialled in time does not."""

from datetime import timedelta

import pytest

from escalation.models import Alert
from escalation.sources import CALLBACK_OVERDUE_MINUTES, poll_sources
from hotline import services
from hotline.models import CallbackTask

pytestmark = pytest.mark.django_db


def _abandon(sid, from_):
    hotline = services.hotline_for_webhook()
    services.receive_call(
        None, hotline=hotline, call_sid=sid, channel="twilio_voice", from_raw=from_
    )
    services.call_status_changed(None, call_sid=sid, twilio_status="completed")
    return CallbackTask.objects.get(abandoned_call__call_sid=sid)


def test_a_call_back_left_past_its_due_time_alerts_the_coordinators_until_it_is_made(
    network, operator, coordinator
):
    services.set_presence(operator, status="available")
    late = _abandon("CA" + "1" * 32, "+8613900000001")
    in_time = _abandon("CA" + "2" * 32, "+8613900000002")
    services.take_callback(operator, in_time)
    services.record_callback_attempt(operator, in_time, outcome="declined")
    grace = timedelta(minutes=CALLBACK_OVERDUE_MINUTES)
    poll_sources(late.due_at + grace - timedelta(seconds=1))
    assert not Alert.objects.filter(kind="callback_overdue").exists()
    poll_sources(late.due_at + grace + timedelta(seconds=1))
    alert = Alert.objects.get(kind="callback_overdue")
    assert alert.data["callback"] == late.pk and alert.case_id == late.case_id
    assert alert.target_organisation == network["hotline"] and alert.target_role == "coordinator"
    services.take_callback(operator, late)
    services.record_callback_attempt(operator, late, outcome="declined")
    poll_sources(late.due_at + grace + timedelta(minutes=1))
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert Alert.objects.filter(kind="callback_overdue").count() == 1
