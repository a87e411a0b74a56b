"""``publish_all``: several events in one write, in order, each with exactly its audiences."""

import pytest
from django.db import transaction

from realtime import audiences as aud
from realtime.models import Event
from realtime.publish import Draft, publish_all


@pytest.mark.django_db(transaction=True)
def test_events_are_written_in_order_with_their_audiences_and_sent_after_commit(
    network, hotline_case, monkeypatch
):
    sent = []
    monkeypatch.setattr("realtime.publish._broadcast", sent.extend)
    org, user = aud.org(network["hotline"].pk), aud.user(1)
    drafts = [
        Draft("case.opened", {"n": 1, "名": "张三"}, [org], case_id=hotline_case.pk),
        Draft("call.queued", {"n": 2}, [org, user, org], case_id=hotline_case.pk),
        Draft("audit.read", {"n": 3}, [aud.AUDIT]),
    ]
    with transaction.atomic():
        messages = publish_all(drafts)
        assert sent == []  # nothing before the commit
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == 3
    stored = list(Event.objects.filter(id__in=ids))
    assert [e.as_message() for e in stored] == messages
    assert [sorted(e.audience_rows.values_list("audience", flat=True)) for e in stored] == [
        [org],
        sorted([org, user]),
        [aud.AUDIT],
    ]
    # The audit-only event is kept, never broadcast.
    assert [message["id"] for _groups, message in sent] == ids[:2]
