"""Escalation policies: validation, the built-in default, the frozen snapshot, step recipients."""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from directory.models import Membership, Organisation, Role, User
from escalation.models import Alert, Channel, EscalationPolicy, Whom
from escalation.selectors import members, on_duty_coordinators
from realtime import audiences as aud

CHANNELS = {c.value for c in Channel}
WHOM = {w.value for w in Whom}


def validate_steps(steps) -> list[str]:
    """Every reason a list of steps cannot be used; empty when it is sound.

    No step may be unable to fire (no channel, a target that resolves to nobody, a negative wait,
    steps after a step that waits forever), and the last step is the fallback: the on-duty
    coordinator of the city hotline centre, which must resolve to somebody.
    """
    if not isinstance(steps, list) or not steps:
        return [_("A policy needs at least one step.")]
    errors: list[str] = []
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            errors.append(_("Step %(n)s is not an object.") % {"n": n})
            continue
        whom = step.get("whom")
        how = step.get("how") or []
        wait = step.get("wait", 0)
        if whom not in WHOM:
            errors.append(
                _("Step %(n)s: unknown recipient kind %(whom)r.") % {"n": n, "whom": whom}
            )
            continue
        if not how or not set(how) <= CHANNELS:
            errors.append(
                _("Step %(n)s can never fire: choose at least one of console, SMS, voice.")
                % {"n": n}
            )
        if not isinstance(wait, int) or wait < 0:
            errors.append(_("Step %(n)s: the wait must be a whole number of seconds.") % {"n": n})
        elif wait == 0 and n < len(steps):
            errors.append(
                _("Step %(n)s waits 0 seconds, so the next fires at the same time; merge them.")
                % {"n": n}
            )
        if whom == Whom.USER:
            user = User.objects.filter(pk=step.get("user"), is_active=True).first()
            if user is None:
                errors.append(_("Step %(n)s can never fire: no such active user.") % {"n": n})
        if whom == Whom.ORG_ROLE:
            org = Organisation.objects.filter(pk=step.get("organisation"), is_active=True).first()
            if org is None or step.get("role") not in Role.values:
                errors.append(_("Step %(n)s needs an active organisation and a role.") % {"n": n})
            elif (
                not Membership.objects.active().filter(organisation=org, role=step["role"]).exists()
                and not org.duty_phone
            ):
                errors.append(
                    _("Step %(n)s can never fire: nobody holds that role there.") % {"n": n}
                )
    last = steps[-1]
    if not isinstance(last, dict) or last.get("whom") != Whom.ON_DUTY_COORDINATOR:
        errors.append(_("The last step must be the fallback: the on-duty coordinator."))
    elif not on_duty_coordinators():
        errors.append(
            _("The fallback is empty: the hotline centre has no coordinator and nobody is on duty.")
        )
    return errors


def default_steps() -> list[dict]:
    """The policy used when no stored one matches: the target, then the on-duty coordinator."""
    first = settings.ESCALATION_DEFAULT_FIRST_WAIT
    fallback = settings.ESCALATION_DEFAULT_FALLBACK_WAIT
    return [
        {"whom": Whom.TARGET.value, "how": ["console", "sms"], "wait": first},
        {"whom": Whom.TARGET.value, "how": ["console", "sms", "voice"], "wait": first},
        {
            "whom": Whom.ON_DUTY_COORDINATOR.value,
            "how": ["console", "sms", "voice"],
            "wait": fallback,
        },
    ]


def snapshot_for(kind: str) -> dict:
    """The policy frozen onto an alert when raised; later edits leave a running escalation alone."""
    policy = (
        EscalationPolicy.objects.filter(alert_kind=kind).first()
        or EscalationPolicy.objects.filter(alert_kind="").first()
    )
    if policy is None:
        return {
            "policy": None,
            "name": "built-in default",
            "steps": default_steps(),
            "max_rounds": 3,
        }
    return {
        "policy": policy.pk,
        "name": policy.name,
        "steps": policy.steps,
        "max_rounds": policy.max_rounds,
    }


@dataclass
class Recipients:
    users: list = field(default_factory=list)
    audiences: set = field(default_factory=set)
    phones: list = field(default_factory=list)  # (phone, user or None)


def recipients(alert: Alert, step: dict, round_: int) -> Recipients:
    """Whom a step reaches in a round; each round after the first widens the audience."""
    found = Recipients()
    users: list = []
    orgs: list = []
    whom = step.get("whom")
    if whom == Whom.TARGET:
        if alert.target_user_id:
            users.append(alert.target_user)
        if alert.target_organisation_id:
            orgs.append((alert.target_organisation, alert.target_role or None))
    elif whom == Whom.USER:
        users.extend(User.objects.filter(pk=step.get("user"), is_active=True))
    elif whom == Whom.ORG_ROLE:
        org = Organisation.objects.filter(pk=step.get("organisation"), is_active=True).first()
        if org:
            orgs.append((org, step.get("role")))
    elif whom == Whom.ON_DUTY_COORDINATOR:
        users.extend(on_duty_coordinators())
    if round_ >= 1:
        # Second round: the whole organisation, not only the role, plus its coordinators.
        orgs = [(org, None) for org, _role in orgs]
        for u in list(users):
            for m in Membership.objects.active().filter(user=u, role=Role.COORDINATOR):
                orgs.append((m.organisation, Role.COORDINATOR))
    if round_ >= 2:
        # From the third round on the on-duty coordinator hears every step too.
        users.extend(on_duty_coordinators())
    if alert.assigned_organisation_id:
        orgs.append((alert.assigned_organisation, None))
    for org, role in orgs:
        found.audiences.add(aud.org_role(org.pk, role) if role else aud.org(org.pk))
        people = members(org, role)
        users.extend(people)
        if not any(u.phone for u in people) and org.duty_phone:
            found.phones.append((str(org.duty_phone), None))
    found.users = list(dict.fromkeys(users))
    for u in found.users:
        found.audiences.add(aud.user(u.pk))
        if u.phone:
            found.phones.append((str(u.phone), u))
    seen = set()
    found.phones = [p for p in found.phones if not (p[0] in seen or seen.add(p[0]))]
    return found
