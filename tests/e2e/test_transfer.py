"""A warm transfer at the screen: operator1 takes a call, consults counsellor1, whose screen shows
the case before they join; counsellor1 joins and operator1 hands the call over."""

import pytest

from tests.e2e import servers

ON_DUTY = """
from datetime import timedelta
from django.utils import timezone
from directory.models import User
from hotline.models import Shift
u = User.objects.get(username="counsellor1")
org = u.memberships.filter(role="counsellor").first().organisation
now = timezone.now()
start, end = now - timedelta(hours=1), now + timedelta(hours=8)
Shift.objects.create(hotline=org, user=u, starts_at=start, ends_at=end)
"""


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory, artifacts):
    """A server of its own (signed webhooks accepted), with counsellor1 rostered now."""
    yield from servers.serve(
        tmp_path_factory,
        artifacts,
        "e2e_transfer",
        setup=ON_DUTY,
        TWILIO_AUTH_TOKEN=servers.TWILIO_TOKEN,
    )


@pytest.mark.timeout(900)  # the seeded template is built first on a busy machine
def test_operator1_warm_transfers_to_counsellor1_who_sees_the_case_before_joining(
    new_page, daphne_server, artifacts
):
    operator = new_page("operator1")
    counsellor = new_page("counsellor1")
    for page in (operator, counsellor):
        page.locator("#live-status[data-state=live]").wait_for()

    servers.incoming_call(daphne_server, "CA" + "transfer".rjust(32, "0"), "+8613800000002")
    operator.locator("#queue li.queue-item").first.locator("button.accept").click()
    operator.locator("#call:not([hidden])").wait_for()
    panel = operator.locator("#conference-panel")
    panel.wait_for()

    operator.locator("#transfer-target").select_option("counsellor")
    operator.locator("#transfer-reason").fill("来电者希望预约面询")
    operator.locator("#transfer-warm").click()
    operator.locator("#transfer-actions:not([hidden])").wait_for()
    assert operator.locator("#conference-state").inner_text() == "来电者保留中"

    # counsellor1's page shows the case before they join.
    offer = counsellor.locator("#transfer-offer")
    offer.wait_for()
    assert counsellor.locator("#offer-person").inner_text() == "小周"
    assert "预约面询" in counsellor.locator("#offer-reason").inner_text()
    assert counsellor.locator("#offer-risk").inner_text() == "中"
    counsellor.screenshot(path=artifacts / "transfer-offered.png")
    counsellor.locator("#offer-join").click()
    counsellor.locator("#offer-state").filter(has_text="您").wait_for()

    operator.locator("#transfer-complete:not([disabled])").wait_for()
    operator.screenshot(path=artifacts / "transfer-operator.png")
    operator.locator("#transfer-complete").click()
    counsellor.locator("#offer-state").filter(has_text="由您负责").wait_for()
    counsellor.screenshot(path=artifacts / "transfer-completed.png")
