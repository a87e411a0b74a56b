"""PHQ-9 and GAD-7 scored by their published rules, at every band boundary."""

import pytest

from prevention import scoring


def answers_totalling(n_items: int, total: int) -> list[int]:
    out = []
    for _ in range(n_items):
        a = min(3, total)
        out.append(a)
        total -= a
    assert total == 0
    return out


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands_at_every_boundary(total, band):
    s = scoring.score("phq9", answers_totalling(9, total))
    assert (s.total, s.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands_at_every_boundary(total, band):
    s = scoring.score("gad7", answers_totalling(7, total))
    assert (s.total, s.band) == (total, band)


def test_phq9_item9_is_read_on_its_own_whatever_the_total():
    s = scoring.score("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert (s.total, s.band, s.item9) == (1, "minimal", 1)
    assert scoring.score("phq9", [3] * 8 + [0]).item9 == 0
    assert scoring.score("gad7", [1] * 7).item9 is None


def test_the_standard_chinese_versions_have_nine_and_seven_items():
    assert len(scoring.PHQ9_ITEMS) == 9 and len(scoring.GAD7_ITEMS) == 7
    assert "伤害自己" in scoring.PHQ9_ITEMS[8]
    assert [label for _v, label in scoring.OPTIONS] == [
        "完全不会",
        "好几天",
        "一半以上的天数",
        "几乎每天",
    ]


@pytest.mark.parametrize(
    ("questionnaire", "answers"),
    [
        ("phq9", [0] * 8),  # an item missing: no prorating
        ("phq9", [0] * 10),
        ("phq9", [0] * 8 + [4]),
        ("gad7", [0] * 6 + [-1]),
        ("gad7", [0] * 6 + ["1"]),
        ("gad7", [0] * 6 + [True]),
        ("bdi", [0] * 21),
    ],
)
def test_incomplete_or_out_of_range_answers_are_not_scored(questionnaire, answers):
    with pytest.raises(scoring.ScoringError):
        scoring.score(questionnaire, answers)


@pytest.mark.parametrize(("questionnaire", "total"), [("phq9", 28), ("gad7", 22), ("phq9", -1)])
def test_totals_outside_the_scale_have_no_band(questionnaire, total):
    with pytest.raises(scoring.ScoringError):
        scoring.band_of(questionnaire, total)
