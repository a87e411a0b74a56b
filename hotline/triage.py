"""The risk screen (风险筛查) and its rule, modelled on C-SSRS screening practice.

Items (the Columbia Suicide Severity Rating Scale screener, plus two the hotline asks always):

1. ``wish_to_be_dead``     - wished to be dead or not wake up (past month)
2. ``active_thoughts``     - actually had thoughts of killing oneself (past month)
3. ``method_thoughts``     - thought about how (a method)            } asked only when item 2 is yes
4. ``intent``              - had some intention of acting on them    } (C-SSRS skip logic), so they
5. ``plan``                - worked out details / intends the plan   } are required only then
6. ``behaviour_3_months``  - did, started or prepared anything to end one's life, past 3 months
   ``behaviour_ever``      - the same, ever (lifetime)
7. ``harm_to_others``      - thoughts or threats of harming someone else
8. ``in_danger_now``       - in danger right now (means at hand, alone, acting now)

Derived risk (the highest rule that matches wins):

- **imminent**: in danger right now; or intent *and* a plan; or intent or a plan together with
  behaviour in the past 3 months.
- **high**: intent, or a plan, or behaviour in the past 3 months, or harm to others
  (C-SSRS screener "high risk": yes to item 4, 5 or recent 6).
- **moderate**: thoughts of a method, or behaviour ever
  (C-SSRS "moderate": item 3, or item 6 longer ago than 3 months).
- **low**: a wish to be dead or active thoughts without a method (C-SSRS "low": items 1-2).
- **none**: every item no.

Protective factors do not lower the derived level: they shape the plan, and lowering is a
judgement the operator must put in words (kept on the case timeline). Raising needs no reason.

Disposition must fit the final risk: imminent -> emergency; high -> refer or emergency;
moderate and below -> any, but emergency below imminent needs an explicit override reason.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Invalid
from hotline.models import RISK_ORDER, Disposition, Risk

ALWAYS = (
    "wish_to_be_dead",
    "active_thoughts",
    "behaviour_3_months",
    "behaviour_ever",
    "harm_to_others",
    "in_danger_now",
)
IF_ACTIVE_THOUGHTS = ("method_thoughts", "intent", "plan")
ITEMS = (*ALWAYS, *IF_ACTIVE_THOUGHTS)


def missing_items(screen: dict) -> list[str]:
    """The required items not answered (None or absent), in screen order."""
    required = list(ALWAYS)
    if screen.get("active_thoughts"):
        required += IF_ACTIVE_THOUGHTS
    return [item for item in required if screen.get(item) is None]


def derive_risk(screen: dict) -> str:
    """The risk level the rule above gives for a complete screen."""
    s = {item: bool(screen.get(item)) for item in ITEMS}
    recent = s["behaviour_3_months"]
    if s["in_danger_now"] or (s["intent"] and s["plan"]) or ((s["intent"] or s["plan"]) and recent):
        return Risk.IMMINENT
    if s["intent"] or s["plan"] or recent or s["harm_to_others"]:
        return Risk.HIGH
    if s["method_thoughts"] or s["behaviour_ever"]:
        return Risk.MODERATE
    if s["wish_to_be_dead"] or s["active_thoughts"]:
        return Risk.LOW
    return Risk.NONE


def check_disposition(risk: str, disposition: str, override_reason: str) -> None:
    """Refuse (400) a disposition that does not fit the final risk."""
    if disposition == Disposition.EMERGENCY:
        if risk != Risk.IMMINENT and not override_reason.strip():
            raise Invalid(
                _("An emergency below imminent risk needs an override reason."),
                code="disposition_unfit",
                fields={"override_reason": [_("Required for an emergency at this risk.")]},
            )
        return
    if risk == Risk.IMMINENT:
        raise Invalid(
            _("Imminent risk needs the emergency disposition (one-key dispatch)."),
            code="disposition_unfit",
            fields={"disposition": [_("Must be emergency at imminent risk.")]},
        )
    if risk == Risk.HIGH and disposition == Disposition.RESOLVED:
        raise Invalid(
            _(
                "High risk cannot be resolved on the call: refer, continue the existing "
                "referral (a person already in care) or raise an emergency."
            ),
            code="disposition_unfit",
            fields={
                "disposition": [
                    _("Must be refer, continue the existing referral or emergency at high risk.")
                ]
            },
        )


def is_lower(risk: str, than: str) -> bool:
    return RISK_ORDER[risk] < RISK_ORDER[than]


# Common protective factors the console offers as ticks (free text is accepted too).
PROTECTIVE_FACTORS = [
    ("family_support", gettext_lazy("Supportive family or guardian")),
    ("reasons_for_living", gettext_lazy("Reasons for living, future plans")),
    ("engaged_in_care", gettext_lazy("In contact with a counsellor or doctor")),
    ("school_connected", gettext_lazy("Connected to school, teacher or friends")),
    ("no_means", gettext_lazy("No access to means")),
    ("help_seeking", gettext_lazy("Willing to seek help, agrees to a safety plan")),
]

SCREEN_LABELS = {
    "wish_to_be_dead": gettext_lazy("Wished to be dead or not wake up (past month)"),
    "active_thoughts": gettext_lazy("Actually thought about killing themself (past month)"),
    "method_thoughts": gettext_lazy("Thought about how (a method)"),
    "intent": gettext_lazy("Had some intention of acting on it"),
    "plan": gettext_lazy("Worked out the details, intends to carry out the plan"),
    "behaviour_3_months": gettext_lazy(
        "Did or prepared anything to end their life (past 3 months)"
    ),
    "behaviour_ever": gettext_lazy("Ever did or prepared anything to end their life"),
    "harm_to_others": gettext_lazy("Thoughts or threats of harming someone else"),
    "in_danger_now": gettext_lazy("In danger right now (means at hand, alone, acting now)"),
}
