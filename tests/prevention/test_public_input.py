"""The public screening pages are the one door without an account: whatever is typed or sent
(huge, HTML, NUL bytes, wrong codes, the wrong method, floods) gets a 4xx or the form again
with the error in words, and changes nothing."""

import pytest
from django.test import override_settings

from prevention.models import Participation, ScreeningResponse
from tests.prevention.test_pages import all_answers

pytestmark = pytest.mark.django_db

BAD_CODES = [
    "",
    " ",
    "AAAAAAAAAA",
    "<script>alert(1)</script>",
    "A\x00B",  # PostgreSQL refuses NUL in text: a 500 unless caught
    "码" * 20,
    "A" * 100_000,
    "' OR 1=1 --",
]


@pytest.mark.parametrize("code", BAD_CODES, ids=range(len(BAD_CODES)))
def test_a_wrong_code_is_refused_in_words_and_nothing_opens(client, campaign, code):
    r = client.post("/screening/", {"code": code})
    assert r.status_code == 400
    page = r.content.decode()
    assert 'id="code-error"' in page
    assert "<script>alert(1)" not in page  # nothing typed is echoed unescaped
    assert client.get("/screening/consent/").status_code == 302  # back to the code page
    assert not Participation.objects.filter(answered_at__isnull=False).exists()


def test_a_body_larger_than_django_accepts_is_a_400(client, campaign, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    r = client.post("/screening/", {"code": "A" * 20_000})
    assert r.status_code == 400


def test_too_many_fields_is_a_400(client, campaign, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    r = client.post("/screening/", {f"f{n}": "x" for n in range(100)} | {"code": "X"})
    assert r.status_code == 400


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405(client, campaign, method):
    for path in ("/screening/", "/screening/consent/", "/screening/questions/"):
        assert getattr(client, method)(path).status_code == 405


def test_the_later_steps_without_a_code_go_back_to_the_start(client, campaign):
    for path in ("/screening/consent/", "/screening/questions/"):
        assert client.get(path).status_code == 302
        assert client.post(path, {"decision": "agree"}).status_code == 302
    assert not ScreeningResponse.objects.exists()


def _consented(client, slip):
    assert client.post("/screening/", {"code": slip.code}).status_code == 302
    r = client.post(
        "/screening/consent/", {"decision": "agree", "minor": "yes", "guardian_agrees": "on"}
    )
    assert r.status_code == 302


def test_an_unknown_age_answer_is_named_beside_the_field(client, campaign):
    slip = campaign.participations.first()
    client.post("/screening/", {"code": slip.code})
    r = client.post("/screening/consent/", {"decision": "agree", "minor": "<b>maybe</b>"})
    assert r.status_code == 400 and "<b>maybe" not in r.content.decode()
    assert client.get("/screening/questions/").status_code == 302


@pytest.mark.parametrize(
    "value", ["4", "-1", "3<script>", "9" * 40, "\x00", "1.5", "３"], ids=range(7)
)
def test_an_answer_outside_the_four_choices_is_an_error_beside_it(client, campaign, value):
    slip = campaign.participations.first()
    _consented(client, slip)
    data = all_answers(campaign)
    data["phq9_4"] = value
    r = client.post("/screening/questions/", data)
    assert r.status_code == 400
    assert 'fieldset class="item invalid"' in r.content.decode()
    assert not ScreeningResponse.objects.exists()
    slip.refresh_from_db()
    assert slip.answered_at is None


def test_answers_sent_twice_are_kept_once(client, campaign):
    slip = campaign.participations.first()
    _consented(client, slip)
    assert client.post("/screening/questions/", all_answers(campaign)).status_code == 302
    again = client.post("/screening/questions/", all_answers(campaign))
    assert again.status_code == 302 and again["Location"] == "/screening/"
    assert ScreeningResponse.objects.count() == 1


@override_settings(SCREENING_CODE_RATE="5/hour")
def test_a_flood_of_codes_is_turned_away_before_the_database_and_a_right_code_too(client, campaign):
    slip = campaign.participations.first()
    statuses = [client.post("/screening/", {"code": f"WRONG{n:05d}"}).status_code for n in range(5)]
    assert statuses == [400] * 5
    flooded = client.post("/screening/", {"code": slip.code})
    assert flooded.status_code == 429
    assert "error" in flooded.content.decode()
    # Another address is not held back by this one's flood.
    other = client.post("/screening/", {"code": slip.code}, REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 302
