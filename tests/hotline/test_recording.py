"""Call recording with consent (通话录音告知): the announcement per line, the recording copied
from Twilio into the project's storage and deleted there, the audited player, retention."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.utils import timezone

from hotline.models import Call, CallRecording, HotlineLine
from realtime.models import Event

LINE = "+865722251885"
RE_SID = "RE" + "a" * 32
ANNOUNCEMENT = "为了保证服务质量，本次通话将被录音。"
WAIT = '<Enqueue waitUrl="/twilio/voice/wait/" waitUrlMethod="POST">hotline</Enqueue>'
GREETING = (
    '<Say language="zh-CN">您好，这里是南太湖心航心理援助热线。'
    "您的来电对我们很重要，请稍候，接线员马上为您接听。</Say>"
)


@pytest.fixture
def store(settings, tmp_path):
    """The "recordings" storage in a temporary directory (the file system, as deployed)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings")},
        },
    }
    return storages["recordings"]


@pytest.fixture
def recorded_line(network):
    return HotlineLine.objects.create(
        number=LINE, organisation=network["hotline"], record_calls=True
    )


@pytest.fixture
def told_call(network, incoming, recorded_line, hotline_case):
    """A call on the recorded line from the person of ``hotline_case``: the caller was told."""
    incoming("CA" + "1" * 32, from_=str(hotline_case.person.phone))
    call = Call.objects.get(call_sid="CA" + "1" * 32)
    assert call.recording_announced and call.case == hotline_case
    return call


def send_recording(twilio, client, call, sid=RE_SID, status="completed", **extra):
    params = {
        "AccountSid": "AC" + "0" * 32,
        "RecordingSid": sid,
        "RecordingStatus": status,
        "RecordingDuration": "75",
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}",
        **extra,
    }
    return twilio.post(client, f"/twilio/voice/recording/?call={call.pk}", params)


# --- the announcement ------------------------------------------------------------------------


def test_a_recorded_line_announces_the_recording_before_queueing_the_caller(
    network, incoming, recorded_line
):
    body = incoming("CA" + "2" * 32).content.decode()
    assert body == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'{GREETING}<Say language="zh-CN">{ANNOUNCEMENT}</Say>{WAIT}</Response>'
    )
    assert Call.objects.get().recording_announced


def test_a_line_that_does_not_record_says_nothing_about_recording(network, incoming, recorded_line):
    recorded_line.record_calls = False
    recorded_line.save()
    body = incoming("CA" + "3" * 32).content.decode()
    assert body == f'<?xml version="1.0" encoding="UTF-8"?><Response>{GREETING}{WAIT}</Response>'
    assert "录音" not in body and not Call.objects.get().recording_announced


def test_a_number_with_no_line_is_not_recorded(network, incoming):
    body = incoming("CA" + "4" * 32).content.decode()
    assert "录音" not in body and not Call.objects.get().recording_announced


def test_each_line_says_its_own_announcement(network, incoming, recorded_line):
    recorded_line.announcement = "本次通话将被录音，仅用于服务质量和安全。"
    recorded_line.save()
    assert "本次通话将被录音，仅用于服务质量和安全。" in incoming("CA" + "5" * 32).content.decode()


BASE = "http://127.0.0.1:8000"


def conference_twiml(call, recording: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Conference beep="false" '
        f'endConferenceOnExit="true" {recording}startConferenceOnEnter="false" '
        f'statusCallback="{BASE}/twilio/voice/conference/" '
        'statusCallbackEvent="start end join leave mute hold" statusCallbackMethod="POST" '
        f'waitMethod="POST" waitUrl="{BASE}/twilio/voice/hold/">hotline-call-{call.pk}'
        "</Conference></Dial></Response>"
    )


def test_answering_a_caller_who_was_told_records_the_conference_from_the_start(
    network, told_call, twilio, operator, client_for
):
    assert client_for(operator).post(f"/api/v1/calls/{told_call.pk}/accept/").status_code == 200
    [update] = twilio.http.to(rf"/Calls/{told_call.call_sid}\.json$")
    assert update.data == {
        "Twiml": conference_twiml(
            told_call,
            'record="record-from-start" '
            f'recordingStatusCallback="{BASE}/twilio/voice/recording/?call={told_call.pk}" '
            'recordingStatusCallbackEvent="completed" recordingStatusCallbackMethod="POST" ',
        )
    }


def test_answering_a_caller_who_was_not_told_records_nothing(
    network, incoming, recorded_line, twilio, operator, client_for
):
    incoming("CA" + "6" * 32, To="+865722259885")  # the appointment line: no HotlineLine
    call = Call.objects.get()
    assert client_for(operator).post(f"/api/v1/calls/{call.pk}/accept/").status_code == 200
    [update] = twilio.http.to(rf"/Calls/{call.call_sid}\.json$")
    assert update.data == {"Twiml": conference_twiml(call)}


# --- the recording status webhook ------------------------------------------------------------


def test_a_completed_recording_is_copied_here_then_deleted_at_twilio(
    network, told_call, twilio, client, store
):
    twilio.http.media.append((b"ID3\x00\xff\xfe-audio-bytes", "audio/mpeg"))
    response = send_recording(twilio, client, told_call)
    assert response.status_code == 204
    base = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{RE_SID}"
    fetch, delete = twilio.http.requests
    assert (fetch.method, fetch.url, fetch.auth) == (
        "GET",
        base + ".mp3",
        ("AC" + "0" * 32, twilio.token),
    )
    assert (delete.method, delete.url) == ("DELETE", base + ".json")
    rec = CallRecording.objects.get()
    assert (rec.call, rec.recording_sid, rec.duration) == (told_call, RE_SID, 75)
    assert rec.fetched_at and rec.twilio_deleted_at and rec.deleted_at is None
    assert rec.content_type == "audio/mpeg"
    assert rec.storage_name == f"calls/{told_call.pk}/{RE_SID}.mp3"
    with store.open(rec.storage_name, "rb") as f:
        assert f.read() == b"ID3\x00\xff\xfe-audio-bytes"


def test_a_repeated_delivery_of_the_same_recording_changes_nothing(
    network, told_call, twilio, client, store
):
    send_recording(twilio, client, told_call)
    first = list(CallRecording.objects.values())
    requests = len(twilio.http.requests)
    assert send_recording(twilio, client, told_call).status_code == 204
    assert list(CallRecording.objects.values()) == first
    assert len(twilio.http.requests) == requests  # no second download, no second delete
    assert store.listdir(f"calls/{told_call.pk}")[1] == [f"{RE_SID}.mp3"]


def test_a_bad_signature_is_403_and_nothing_is_fetched(network, told_call, twilio, client, store):
    response = twilio.post(
        client,
        f"/twilio/voice/recording/?call={told_call.pk}",
        {"RecordingSid": RE_SID, "RecordingStatus": "completed"},
        signature="forged",
    )
    assert response.status_code == 403
    assert CallRecording.objects.count() == 0 and twilio.http.requests == []


def test_a_signature_for_another_call_is_refused(network, told_call, twilio, client, store):
    from tests.twilio_recorder import sign

    params = {"RecordingSid": RE_SID, "RecordingStatus": "completed"}
    sig = sign("http://testserver/twilio/voice/recording/?call=999", params, twilio.token)
    response = client.post(
        f"/twilio/voice/recording/?call={told_call.pk}", params, HTTP_X_TWILIO_SIGNATURE=sig
    )
    assert response.status_code == 403 and CallRecording.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/twilio/voice/recording/", {"RecordingSid": RE_SID, "RecordingStatus": "completed"}, 400),
        (
            "/twilio/voice/recording/?call=x",
            {"RecordingSid": RE_SID, "RecordingStatus": "completed"},
            400,
        ),
        (
            "/twilio/voice/recording/?call=1",
            {"RecordingSid": "RE/../x", "RecordingStatus": "completed"},
            400,
        ),
        (
            "/twilio/voice/recording/?call=99999",
            {"RecordingSid": RE_SID, "RecordingStatus": "completed"},
            404,
        ),
    ],
)
def test_bad_input_is_a_4xx_and_writes_nothing(
    network, twilio, client, store, path, params, status
):
    assert twilio.post(client, path, params).status_code == status
    assert CallRecording.objects.count() == 0 and twilio.http.requests == []


def test_a_failed_or_absent_recording_keeps_nothing(network, told_call, twilio, client, store):
    assert send_recording(twilio, client, told_call, status="absent").status_code == 204
    assert CallRecording.objects.count() == 0 and twilio.http.requests == []


def test_a_recording_of_a_caller_who_was_not_told_is_deleted_at_twilio_and_not_kept(
    network, incoming, twilio, client, store
):
    incoming("CA" + "7" * 32)  # no recorded line
    call = Call.objects.get()
    assert send_recording(twilio, client, call).status_code == 204
    [delete] = twilio.http.requests
    assert delete.method == "DELETE" and delete.url.endswith(f"/Recordings/{RE_SID}.json")
    assert CallRecording.objects.count() == 0


def test_when_twilio_cannot_be_reached_the_sweep_copies_it_later(
    network, told_call, twilio, client, store
):
    from hotline.services.recording import copy_pending_recordings

    twilio.http.responses.append((500, {"message": "unavailable"}))  # the delete fails
    assert send_recording(twilio, client, told_call).status_code == 204
    rec = CallRecording.objects.get()
    assert rec.fetched_at and rec.twilio_deleted_at is None
    assert copy_pending_recordings(timezone.now() + timedelta(minutes=5)) == 1
    rec.refresh_from_db()
    assert rec.twilio_deleted_at is not None
    assert [r.method for r in twilio.http.requests] == ["GET", "DELETE", "DELETE"]


# --- listening ---------------------------------------------------------------------------------


@pytest.fixture
def stored(network, told_call, twilio, client, store):
    twilio.http.media.append((b"ID3-audio", "audio/mpeg"))
    send_recording(twilio, client, told_call)
    return CallRecording.objects.get()


def listen(client, rec):
    return client.get(f"/console/recordings/{rec.pk}/")


def test_a_reader_of_the_case_plays_it_and_the_listen_is_audited(
    stored, coordinator, client, told_call
):
    from tests.conftest import sign_in

    sign_in(client, coordinator)
    for n in (1, 2):
        response = listen(client, stored)
        assert response.status_code == 200
        assert response["Content-Type"] == "audio/mpeg"
        assert b"".join(response.streaming_content) == b"ID3-audio"
        listens = Event.objects.filter(type="case.read", data__what="recording_played")
        assert listens.count() == n
    event = listens.last()
    assert event.actor == coordinator and event.data["cases"] == [told_call.case_id]
    assert (event.data["recording"], event.data["call"]) == (stored.pk, told_call.pk)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("operator", True),
        ("operator2", True),
        ("coordinator", True),
        ("administrator", True),
        ("counsellor_a", False),
        ("counsellor_b", False),
        ("nurse", False),
        ("decision_maker", False),
        ("responder", False),
        ("outsider", False),
    ],
)
def test_only_roles_that_may_read_the_case_may_listen(stored, client, request, role, allowed):
    from tests.conftest import sign_in

    sign_in(client, request.getfixturevalue(role))
    response = listen(client, stored)
    assert response.status_code == (200 if allowed else 404)
    listens = Event.objects.filter(type="case.read", data__what="recording_played").count()
    assert listens == (1 if allowed else 0)


def test_a_counselling_centre_granted_the_case_may_listen(stored, client, counsellor_a, network):
    from hotline.services import grant_access
    from tests.conftest import sign_in

    sign_in(client, counsellor_a)
    assert listen(client, stored).status_code == 404
    grant_access(stored.call.case, network["centre_a"], reason="referral")
    assert listen(client, stored).status_code == 200


def test_signed_out_is_sent_to_sign_in(stored, client):
    response = listen(client, stored)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_case_page_shows_the_player(stored, client, coordinator, told_call):
    from tests.conftest import sign_in

    sign_in(client, coordinator)
    body = client.get(f"/care/cases/{told_call.case_id}/").content.decode()
    assert f'<audio controls preload="none" src="/console/recordings/{stored.pk}/"' in body
    # Opening the page is not a listen.
    assert not Event.objects.filter(data__what="recording_played").exists()


# --- retention ---------------------------------------------------------------------------------


def test_a_recording_past_retention_is_removed_and_a_newer_one_stays(
    settings, network, told_call, store
):
    settings.RECORDING_RETENTION_DAYS = 90
    now = timezone.now()
    rows = {}
    for label, age in (("old", 91), ("new", 89)):
        name = store.save(f"calls/{told_call.pk}/{label}.mp3", ContentFile(b"audio"))
        rows[label] = CallRecording.objects.create(
            call=told_call,
            recording_sid=f"RE{label:0>32}",
            storage_name=name,
            content_type="audio/mpeg",
            created_at=now - timedelta(days=age),
            fetched_at=now - timedelta(days=age),
            twilio_deleted_at=now - timedelta(days=age),
        )

    call_command("anonymise_expired")

    old, new = (CallRecording.objects.get(pk=rows[k].pk) for k in ("old", "new"))
    assert not store.exists(old.storage_name) and old.deleted_at is not None
    assert store.exists(new.storage_name) and new.deleted_at is None
    # A removed recording is not offered any more.
    from hotline.selectors import playable_recordings

    assert list(playable_recordings(told_call.operator or _admin(network))) == [new]


def _admin(network):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username="admin-r", is_superuser=True, is_staff=True)
    MembershipFactory(user=user, organisation=network["hotline"], role="administrator")
    return user
