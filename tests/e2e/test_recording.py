"""The recording player in a real browser: a coordinator opens a case whose call was recorded
and finds the player on the case page; its source streams the audio to the coordinator only."""

import pytest

from tests.e2e import servers

# Run in the server's own database (a subprocess): a call of the hotline (whose cases
# coordinator1 reads), recorded, its file in RECORDING_ROOT as the recording webhook leaves it.
SETUP = """
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from hotline import services
from hotline.models import Call, CallRecording
operator = get_user_model().objects.get(username="operator1")
call = services.enter_manual_call(operator, channel="walk_in", from_number="+8613900000123")
Call.objects.filter(pk=call.pk).update(recording_announced=True)
name = storages["recordings"].save(f"calls/{call.pk}/RE{'e' * 32}.mp3", ContentFile(b"ID3-e2e"))
CallRecording.objects.create(call=call, recording_sid="RE" + "e" * 32, duration=95,
    storage_name=name, content_type="audio/mpeg", fetched_at=timezone.now(),
    twilio_deleted_at=timezone.now())
open(OUT, "w").write(str(call.case_id))
"""


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    tmp = tmp_path_factory.mktemp("recording")
    env = servers.server_env(
        servers.fresh_database_url(tmp, "recording"),
        tmp / "static",
        RECORDING_ROOT=str(tmp / "recordings"),
    )
    servers.prepare(env)
    out = tmp / "case-id"
    servers.manage(env, "shell", "-c", f"OUT = {str(out)!r}\n" + SETUP)
    server = servers.Server(env, artifacts / "server-recording.log")
    server.recorded_case = int(out.read_text())
    yield server
    server.stop()


def test_a_coordinator_finds_the_player_on_the_case_page(new_page, daphne_server, artifacts):
    base = daphne_server.url
    page = new_page("coordinator1")
    page.goto(f"{base}/care/cases/{daphne_server.recorded_case}/")
    player = page.locator("#recordings audio")
    assert (
        player.get_attribute("preload") == "none" and player.get_attribute("controls") is not None
    )
    assert "通话录音" in page.locator("#recordings h2").inner_text()
    assert "95 秒" in page.locator("#recordings").inner_text()
    page.locator("#recordings").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "case-recording.png")
    audio = page.request.get(base + player.get_attribute("src"))
    assert audio.status == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert audio.body() == b"ID3-e2e"

    nurse = new_page("nurse1")
    assert nurse.request.get(base + player.get_attribute("src")).status == 404
