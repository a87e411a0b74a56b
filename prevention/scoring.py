"""PHQ-9 and GAD-7, their standard Chinese versions, scored by the published rules.

PHQ-9 (Kroenke, Spitzer & Williams 2001): nine items, each 0-3, total 0-27; severity bands
0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe. Item 9 (thoughts
of being better off dead or of self-harm) is read on its own: any answer above 0 needs a
same-day assessment whatever the total. GAD-7 (Spitzer et al. 2006): seven items, each 0-3,
total 0-21; bands 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

PHQ9 = "phq9"
GAD7 = "gad7"

# The response options, shared by both questionnaires ("in the last two weeks, how often...").
OPTIONS = [
    (0, "完全不会"),
    (1, "好几天"),
    (2, "一半以上的天数"),
    (3, "几乎每天"),
]

STEM = "在过去两个星期，有多少时候您受到以下任何问题所困扰？"

PHQ9_ITEMS = [
    "做事时提不起劲或没有兴趣",
    "感到心情低落、沮丧或绝望",
    "入睡困难、睡不安稳或睡眠过多",
    "感觉疲倦或没有活力",
    "食欲不振或吃太多",
    "觉得自己很糟，或觉得自己很失败，或让自己或家人失望",
    "对事物专注有困难，例如阅读报纸或看电视时",
    "动作或说话速度缓慢到别人已经觉察？或正好相反，烦躁或坐立不安、动来动去的情况更胜于平常",
    "有不如死掉或用某种方式伤害自己的念头",
]
PHQ9_ITEM9 = 9  # 1-based

GAD7_ITEMS = [
    "感觉紧张，焦虑或急切",
    "不能够停止或控制担忧",
    "对各种各样的事情担忧过多",
    "很难放松下来",
    "由于不安而无法静坐",
    "变得容易烦恼或急躁",
    "感到似乎将有可怕的事情发生而害怕",
]

TITLES = {
    PHQ9: "患者健康问卷（PHQ-9）",
    GAD7: "广泛性焦虑量表（GAD-7）",
}
ITEMS = {PHQ9: PHQ9_ITEMS, GAD7: GAD7_ITEMS}

MINIMAL, MILD, MODERATE, MODERATELY_SEVERE, SEVERE = (
    "minimal",
    "mild",
    "moderate",
    "moderately_severe",
    "severe",
)
BAND_LABELS = {
    MINIMAL: _("Minimal"),
    MILD: _("Mild"),
    MODERATE: _("Moderate"),
    MODERATELY_SEVERE: _("Moderately severe"),
    SEVERE: _("Severe"),
}
# (lowest total of the band, band), highest first.
BANDS = {
    PHQ9: [(20, SEVERE), (15, MODERATELY_SEVERE), (10, MODERATE), (5, MILD), (0, MINIMAL)],
    GAD7: [(15, SEVERE), (10, MODERATE), (5, MILD), (0, MINIMAL)],
}


class ScoringError(ValueError):
    pass


@dataclass(frozen=True)
class Score:
    questionnaire: str
    total: int
    band: str
    item9: int | None = None  # PHQ-9 only


def band_of(questionnaire: str, total: int) -> str:
    top = 3 * len(ITEMS[questionnaire])
    if not 0 <= total <= top:
        raise ScoringError(f"{questionnaire} total {total} outside 0-{top}")
    return next(band for low, band in BANDS[questionnaire] if total >= low)


def score(questionnaire: str, answers: list[int]) -> Score:
    """Sum of the item scores; every item must be answered with 0-3 (no prorating)."""
    items = ITEMS.get(questionnaire)
    if items is None:
        raise ScoringError(f"unknown questionnaire {questionnaire!r}")
    if len(answers) != len(items):
        raise ScoringError(f"{questionnaire} needs {len(items)} answers, got {len(answers)}")
    if any(type(a) is not int or not 0 <= a <= 3 for a in answers):
        raise ScoringError(f"{questionnaire} answers must each be 0, 1, 2 or 3")
    total = sum(answers)
    return Score(
        questionnaire,
        total,
        band_of(questionnaire, total),
        item9=answers[PHQ9_ITEM9 - 1] if questionnaire == PHQ9 else None,
    )
