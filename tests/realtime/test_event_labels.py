"""Every event type the system publishes has words in both languages; no page shows a raw type."""

import json

import pytest
from django.template import Context, Template
from django.utils import translation

from realtime.audiences import EVENT_TYPES
from realtime.labels import EVENT_LABELS, event_label, live_labels


def test_every_published_event_type_has_words():
    assert sorted(set(EVENT_TYPES) - set(EVENT_LABELS)) == []


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_type_reads_in_chinese(event_type):
    with translation.override("en"):
        english = event_label(event_type)
    with translation.override("zh-hans"):
        chinese = event_label(event_type)
    assert english != event_type
    assert chinese != english, f"{event_type} has no Chinese words"
    assert not chinese.isascii()


def test_an_unknown_type_is_other_activity_not_the_raw_type():
    with translation.override("zh-hans"):
        assert event_label("something.new") == "其他动态"


def test_the_live_feed_carries_the_labels_in_the_page_language():
    template = Template('{% include "realtime/_live_feed.html" %}')
    with translation.override("zh-hans"):
        html = template.render(Context({}))
        expected = live_labels()
    start = html.index('type="application/json">', html.index('id="live-labels"')) + 24
    labels = json.loads(html[start : html.index("</script>", start)])
    assert labels["call.offer_expired"] == "分配的来电未及时接听"
    assert labels["*"] == "其他动态"
    assert labels == expected
