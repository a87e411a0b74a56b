"""An overflowed call in a real browser: the provincial 12356 operator's console shows the city
line's call in the queue, marked as overflow from the city line (来自…的溢出来电)."""

import pytest

from tests.e2e import servers

# Run in the server's own database (a subprocess): a call to the city line, moved to the
# province as the worker would (the city line is closed), before anyone opens a console.
SETUP = """
from hotline import services
from hotline.models import CentreRouting
from hotline.services.overflow import move_call
CentreRouting.objects.filter(centre__code="hotline-centre").update(open_24h=True)
call, _ = services.receive_call(services.SYSTEM, hotline=services.hotline_for_webhook(
    "+865722251885"), call_sid="CA" + "0" * 31 + "9", channel="twilio_voice",
    from_raw="+8613900000321", offer=False)
assert move_call(call, "closed", in_twilio=False)
open(OUT, "w").write(str(call.pk))
"""


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    tmp = tmp_path_factory.mktemp("overflow")
    env = servers.server_env(servers.fresh_database_url(tmp, "overflow"), tmp / "static")
    servers.prepare(env)
    out = tmp / "call-id"
    servers.manage(env, "shell", "-c", f"OUT = {str(out)!r}\n" + SETUP)
    server = servers.Server(env, artifacts / "server-overflow.log")
    server.overflow_call = int(out.read_text())
    yield server
    server.stop()


def test_the_partner_console_marks_the_overflowed_call(new_page, daphne_server, artifacts):
    page = new_page("operator12356")
    page.goto(daphne_server.url + "/console/")
    item = page.locator(f'#queue li[data-call="{daphne_server.overflow_call}"]')
    item.wait_for()
    assert "来自南太湖心航热线中心的溢出来电" in item.locator(".tag.overflow").inner_text()
    page.screenshot(path=artifacts / "console-overflow.png")
    # The city line's operator does not have it in their queue.
    city = new_page("operator1")
    city.goto(daphne_server.url + "/console/")
    city.wait_for_timeout(1500)
    assert city.locator(f'#queue li[data-call="{daphne_server.overflow_call}"]').count() == 0
