"""The shared Twilio glue: signature validation and the SDK client with a recording HTTP client."""

from django.http import HttpResponse
from django.test import RequestFactory

from core.telephony import twilio_client, twilio_webhook


@twilio_webhook
def echo(request):
    return HttpResponse("ok")


def _post(params, signature, host="testserver"):
    return RequestFactory().post(
        "/twilio/x/", params, HTTP_X_TWILIO_SIGNATURE=signature, HTTP_HOST=host
    )


def test_a_correct_signature_passes_and_a_forged_one_gets_403(twilio):
    from tests.twilio_recorder import sign

    params = {"CallSid": "CA1", "From": "+8613800000001"}
    good = sign("http://testserver/twilio/x/", params, twilio.token)
    assert echo(_post(params, good)).status_code == 200
    assert echo(_post(params, "forged")).status_code == 403
    assert echo(_post({**params, "From": "+8613800000009"}, good)).status_code == 403


def test_behind_a_proxy_the_public_base_url_is_what_twilio_signed(twilio, settings):
    from tests.twilio_recorder import sign

    settings.TWILIO_WEBHOOK_BASE_URL = "https://hotline.example.org"
    params = {"CallSid": "CA1"}
    signed = sign("https://hotline.example.org/twilio/x/", params, twilio.token)
    assert echo(_post(params, signed, host="10.0.0.5")).status_code == 200


def test_without_a_token_every_webhook_is_refused(settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert echo(_post({"CallSid": "CA1"}, "anything")).status_code == 403


def test_the_sdk_request_is_recorded_not_sent(twilio):
    message = twilio_client().messages.create(to="+8613800000001", from_="+865722251885", body="hi")
    assert message.sid.startswith("SM")
    (sent,) = twilio.http.to(r"/Messages\.json$")
    assert sent.method == "POST"
    assert sent.data["To"] == "+8613800000001" and sent.data["Body"] == "hi"
