import pytest

SCREEN_NONE = {
    "wish_to_be_dead": False,
    "active_thoughts": False,
    "behaviour_3_months": False,
    "behaviour_ever": False,
    "harm_to_others": False,
    "in_danger_now": False,
}


@pytest.fixture
def incoming(twilio, client):
    """``incoming(sid, from_)``: a signed Twilio incoming-call webhook."""

    def send(sid, from_="+8613900000001", **extra):
        params = {"CallSid": sid, "From": from_, "To": "+865722251885", "CallStatus": "ringing"}
        return twilio.post(client, "/twilio/voice/incoming/", {**params, **extra})

    return send


@pytest.fixture
def held_call(network, operator, client_for):
    """A walk-in call accepted by ``operator`` (in progress)."""
    from hotline import services

    call = services.enter_manual_call(
        operator, channel="walk_in", from_number="+8613900000077", caller_name="王女士"
    )
    return services.accept_call(operator, call)


@pytest.fixture
def reply(django_capture_on_commit_callbacks):
    """``send_reply`` as a request runs it: the message goes out (SMS, WeChat) once the
    transaction commits."""
    from hotline import services

    def send(call, user, body):
        with django_capture_on_commit_callbacks(execute=True):
            return services.send_reply(call, user, body)

    return send
