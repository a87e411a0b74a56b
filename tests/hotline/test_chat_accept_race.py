"""The accept race for a text conversation on PostgreSQL: real concurrent transactions."""

import pytest

from core.errors import Conflict
from hotline import services
from hotline.models import Call
from realtime.models import Event
from tests.hotline.test_accept_race import _race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_operators_accepting_the_same_chat_exactly_one_wins(network, operator, operator2):
    chat = services.open_conversation("webchat", pre_chat={"safe_now": False})
    results = _race(
        [
            lambda: services.accept_call(operator, chat),
            lambda: services.accept_call(operator2, chat),
        ]
    )
    wins = [r for r in results if isinstance(r, Call)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "call_taken"
    chat.refresh_from_db()
    assert chat.status == "in_progress" and chat.operator == wins[0].operator
    assert Event.objects.filter(type="call.accepted", data__call=chat.pk).count() == 1


def test_one_operator_accepting_three_chats_at_once_holds_at_most_two(network, operator, settings):
    settings.HOTLINE_MAX_CHATS = 2
    chats = [services.open_conversation("webchat") for _ in range(3)]
    results = _race([lambda c=c: services.accept_call(operator, c) for c in chats])
    wins = [r for r in results if isinstance(r, Call)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 2 and len(losses) == 1, results
    assert losses[0].code == "too_many_chats"
    assert Call.objects.filter(operator=operator, status="in_progress").count() == 2
