"""Every page as every demo role, in Chinese and in English: no page answers 5xx, and none shows
a raw event type (``case.opened``), a raw field key (``wish_to_be_dead``) or, in Chinese, an
English message the project's catalogues translate (a string that missed gettext, or a lazy
string frozen in English), nor a page without a word of Chinese (Django's bare 403/404).

The pages are the project's own URL patterns, walked from the root resolver (the API, Twilio's
webhooks, Django's admin and the language switch are not pages); a pattern with arguments needs
an example below, so a new page cannot be left out silently. The demo network is seeded and one
call is referred and one raised as an emergency, so the lists have rows to show."""

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone, translation

from demo import data as demo
from directory.models import User
from escalation import services as escalation_services
from hotline import services as hotline_services
from hotline import triage
from hotline.api.calls import TriageSerializer
from hotline.models import Case
from prevention import services as prevention_services
from prevention.models import Participation, ScreeningTask
from realtime.audiences import EVENT_TYPES
from tests.conftest import sign_in
from tests.hotline.conftest import SCREEN_NONE

ROOT = Path(settings.BASE_DIR)
NOT_PAGES = ("api/", "twilio/", "admin/", "i18n/", "healthz", "readyz", "logout/", "favicon.ico")
LANGUAGES = ("zh-hans", "en")
EVENT_TYPE = re.compile(r"\b[a-z_]+\.[a-z_]+\b")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{[^}]*\}")


class VisibleText(HTMLParser):
    """What a person reads: text outside scripts and styles, the words of placeholders, titles
    and labels, and the strings of the pages' JSON data blocks (the console's messages)."""

    SHOWN_ATTRS = ("placeholder", "title", "aria-label", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.json_blocks: list[str] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._in = "json" if attrs.get("type") == "application/json" else "skip"
        for name in self.SHOWN_ATTRS:
            if attrs.get(name):
                self.parts.append(attrs[name])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._in = None

    def handle_data(self, data):
        if self._in == "json":
            self.json_blocks.append(data)
        elif self._in is None:
            self.parts.append(data)


def _strings(value):
    """The string values of a JSON document (keys are identifiers, never shown)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def visible_text(body: str) -> str:
    parser = VisibleText()
    parser.feed(body)
    shown = list(parser.parts)
    for block in parser.json_blocks:
        shown.extend(_strings(json.loads(html.unescape(block))))
    return re.sub(r"\s+", " ", " ".join(shown))


def _po_entries(path: Path):
    """(msgid, msgstr) pairs of a .po file; plural forms and the header are left out."""
    entries, key, current = [], None, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        match = re.match(r'^(msgid|msgstr|msgctxt|msgid_plural|msgstr\[\d+\]) "(.*)"$', line)
        if match:
            if match.group(1) == "msgid" and current:
                entries.append(current)
                current = {}
            key = match.group(1)
            current[key] = match.group(2)
        elif line.startswith('"') and key:
            current[key] += line[1:-1]
        else:
            key = None if not line.startswith('"') else key
    if current:
        entries.append(current)
    out = []
    for e in entries:
        msgid, msgstr = e.get("msgid", ""), e.get("msgstr", "")
        if msgid and msgstr and msgstr != msgid:
            out.append((msgid.replace('\\"', '"').replace("\\n", "\n"), msgstr))
    return out


def english_phrases() -> set[str]:
    """Phrases of the project's translated msgids a Chinese page must not show in English: the
    literal parts between placeholders, two words or more."""
    phrases = set()
    for po in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"):
        if ".venv" in po.parts:
            continue
        for msgid, _msgstr in _po_entries(po):
            for part in PLACEHOLDER.split(msgid):
                part = part.strip(" .,:;!?()·-—\"'")
                if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2 and len(part) >= 8:
                    phrases.add(part)
    return phrases


def field_keys() -> set[str]:
    """Identifiers of fields a page must name in words: the project's model fields, the risk
    screen's items and the triage form's fields (those with an underscore: a plain word such as
    ``notes`` reads as English)."""
    keys = set(triage.ITEMS) | set(TriageSerializer().fields)
    for config in apps.get_app_configs():
        if Path(config.path).is_relative_to(ROOT) and ".venv" not in Path(config.path).parts:
            for model in config.get_models():
                keys |= {f.name for f in model._meta.get_fields()}
    return {k for k in keys if "_" in k}


def page_patterns():
    """(name, route) of every page pattern, walked from the root URLconf."""

    def walk(patterns, prefix, namespace):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace]))
                yield from walk(p.url_patterns, route, ns)
            elif isinstance(p, URLPattern) and not route.startswith(NOT_PAGES):
                yield ":".join(filter(None, [namespace, p.name])), route, bool(p.pattern.converters)

    return list(walk(get_resolver().url_patterns, "", ""))


# Pages answering bad input (a hand-edited address, a stale link): their errors are words too,
# beside the field they are about, never the field's key.
BAD_INPUT = [
    "/dashboard/?from=2026-13-40&no_contact_days=abc&risk=nope",
    "/dashboard/cases/?kind=names&value=x",
    "/dashboard/cases/?kind=stage&value=nope",
    "/dashboard/report/?month=2026-13",
]


def busy_demo() -> dict:
    """The demo network with a referral, an emergency dispatch and a screening flag (item 9)
    in flight."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    op1, op2 = User.objects.get(username="operator1"), User.objects.get(username="operator2")
    refer = hotline_services.accept_call(
        op1,
        hotline_services.enter_manual_call(
            op1, channel="walk_in", from_number="+8613800000002", caller_name="小周"
        ),
    )
    hotline_services.triage_call(
        op1,
        refer,
        screen={
            **SCREEN_NONE,
            "active_thoughts": True,
            "method_thoughts": True,
            "intent": False,
            "plan": False,
        },
        disposition="refer",
        notes="与父母冲突后情绪低落",
    )
    emergency = hotline_services.accept_call(
        op2,
        hotline_services.enter_manual_call(
            op2, channel="transfer_110", from_number="+8613900000999", caller_name=""
        ),
    )
    hotline_services.triage_call(
        op2,
        emergency,
        screen={**SCREEN_NONE, "in_danger_now": True},
        disposition="emergency",
        location="月河社区",
    )
    referred = Case.objects.get(calls=refer)
    from hotline.services import safety_plans  # 安全计划: a version sent, on the case's pages

    safety_plans.save_version(op1, referred, {"reasons": ["我的猫"]}, sms_consent=True)
    safety_plans.send_plan_sms(op1, referred)
    alert, _new = escalation_services.raise_alert(
        escalation_services.AlertSpec(
            dedup_key="language-test",
            kind="referral_overdue",
            title="转介超时未接收",
            case=referred,
        )
    )
    slip = Participation.objects.filter(answered_at__isnull=True).first()
    prevention_services.submit_answers(
        slip.code,
        consent_by=prevention_services.consent_needed_from(slip.campaign, minor=False),
        consented_at=timezone.now(),
        answers={"phq9": [2] * 8 + [1], "gad7": [2] * 7},
    )
    return {
        "case": referred.pk,
        "person": referred.person_id,
        "alert": alert.pk,
        "campaign": slip.campaign_id,
        "group": slip.group_id,
        "task": ScreeningTask.objects.get(participation=slip).pk,
    }


def examples(objects: dict) -> dict:
    """Arguments for each pattern with arguments: real objects for the pages, any well-formed
    value for the actions (a GET to a POST-only action is a 405, never a 5xx)."""
    case, alert = objects["case"], objects["alert"]
    return {
        "clinics:case": {"pk": case},
        "clinics:next_step": {"pk": case},
        "clinics:follow_up": {"pk": case},
        "clinics:referral_action": {"pk": 1, "action": "accept"},
        "clinics:session": {"pk": 1},
        "clinics:discharge": {"pk": 1},
        "clinics:attempt": {"pk": 1},
        "escalation:alert": {"pk": alert},
        "escalation:alert_action": {"pk": alert, "action": "acknowledge"},
        "escalation:leg_action": {"pk": 1, "action": "note"},
        "escalation:dispatch_close": {"pk": 1},
        "escalation:supervise": {"pk": 1, "mode": "listen"},
        "responder:act": {"pk": 1, "action": "acknowledge"},
        "dashboard:export": {"key": "follow_ups", "fmt": "csv"},
        "clinics:plan": {"pk": case},
        "clinics:safety_plan": {"pk": case},
        "clinics:measure": {"pk": 1},
        "clinics:check_in": {"pk": 1},
        "clinics:green_channel": {"pk": 1},
        "hotline:merge_person": {"pk": objects["person"]},
        "hotline:recording": {"pk": 1},
        "prevention:task_action": {"pk": objects["task"], "action": "acknowledge"},
        "prevention:slips": {"pk": objects["campaign"], "group_pk": objects["group"]},
    }


def _around(text: str, found: str) -> str:
    at = text.find(found)
    return "«" + text[max(0, at - 30) : at + len(found) + 30] + "»"


def problems_of(body: str, lang: str, phrases: set[str], keys: set[str]) -> list[str]:
    text = visible_text(body)
    found = []
    raw_types = sorted({m for m in EVENT_TYPE.findall(text) if m in EVENT_TYPES})
    if raw_types:
        found.append(f"raw event types {raw_types} {_around(text, raw_types[0])}")
    raw_keys = sorted({m for m in SNAKE.findall(text) if m in keys})
    if raw_keys:
        found.append(f"raw field keys {raw_keys} {_around(text, raw_keys[0])}")
    if lang == "zh-hans" and text.strip() and not CJK.search(text):
        found.append(f"no Chinese at all «{text.strip()[:60]}»")
    if lang == "zh-hans":
        english = sorted(p for p in phrases if p in text)
        if english:
            found.append(f"untranslated {english[:8]}{' …' if len(english) > 8 else ''}")
    return found


# Some hundreds of pages: longer than the suite's default limit on a loaded machine.
@pytest.mark.timeout(600)
def test_every_page_as_every_role_in_both_languages_is_in_words(db, settings):
    settings.DEMO_PASSWORD = "demo-pass-for-tests"
    # Written as the demo's operators work: in Chinese (what a service words at write time, such
    # as a next step, is stored in the writer's language).
    with translation.override("zh-hans"):
        objects = busy_demo()
    args = examples(objects)
    patterns = page_patterns()
    unknown = [name for name, _route, has_args in patterns if has_args and name not in args]
    assert not unknown, f"pages with arguments and no example here: {unknown}"
    urls = [reverse(name, kwargs=args.get(name)) for name, _route, _has in patterns]
    urls += BAD_INPUT
    phrases, keys = english_phrases(), field_keys()

    failures, pages_read = [], 0
    for username, *_ in demo.USERS:
        client = sign_in(Client(), User.objects.get(username=username))
        for lang in LANGUAGES:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
            for url in urls:
                response = client.get(url)
                where = f"{username} {lang} {url} ({response.status_code})"
                if response.status_code >= 500:
                    failures.append(f"{where}: server error")
                    continue
                if not response.get("Content-Type", "").startswith("text/html"):
                    continue
                pages_read += 1
                body = response.content.decode()
                failures += [f"{where}: {p}" for p in problems_of(body, lang, phrases, keys)]
    # The walk reached the role pages themselves, not only refusals and redirects.
    assert pages_read > len(demo.USERS) * len(LANGUAGES) * 3
    assert not failures, f"{len(failures)} pages not in words:\n" + "\n".join(failures)


def test_the_checks_catch_what_they_look_for():
    """The detectors themselves: each finds its fault on a small page and passes a clean one."""
    phrases = {"Accept the next call"}
    keys = {"wish_to_be_dead"}
    bad = (
        "<main><p>case.opened</p><p>答：wish_to_be_dead</p>"
        '<input placeholder="Accept the next call"></main>'
        '<script type="application/json" id="m">{"a": "Accept the next call"}</script>'
    )
    found = problems_of(bad, "zh-hans", phrases, keys)
    assert any("case.opened" in f for f in found)
    assert any("wish_to_be_dead" in f for f in found)
    assert any("Accept the next call" in f for f in found)
    clean = (
        '<main><p data-type="case.opened">已开案</p></main>'
        '<script>var t = "case.opened"; var k = "wish_to_be_dead";</script>'
        '<script type="application/json">{"case.opened": "已开案"}</script>'
    )
    assert problems_of(clean, "zh-hans", phrases, keys) == []
    assert problems_of("<h1>403 Forbidden</h1>", "zh-hans", phrases, keys) == [
        "no Chinese at all «403 Forbidden»"
    ]
    # English pages may say it in English.
    assert problems_of("<p>Accept the next call</p>", "en", phrases, keys) == []


def test_the_screening_pages_behind_a_code_are_in_words(db):
    """The public screening pages a student reaches only with a slip's code (consent, the
    questions, a missed answer, a refusal), in both languages: none is in the walk above."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    phrases, keys = english_phrases(), field_keys()
    slips = iter(Participation.objects.filter(answered_at__isnull=True))
    failures, pages_read = [], 0
    for lang in LANGUAGES:
        for decision in ("agree", "refuse"):
            client = Client()
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
            steps = [
                ("get", reverse("screening:start"), {}),
                ("post", reverse("screening:start"), {"code": "NOT-A-CODE"}),
                ("post", reverse("screening:start"), {"code": next(slips).code}),
                ("get", reverse("screening:consent"), {}),
                ("post", reverse("screening:consent"), {"decision": "agree"}),
                ("post", reverse("screening:consent"), {"decision": decision, "minor": "no"}),
                ("get", reverse("screening:questions"), {}),
                ("post", reverse("screening:questions"), {"phq9_1": "2"}),
                ("get", reverse("screening:thanks"), {}),
            ]
            for method, url, data in steps:
                response = getattr(client, method)(url, data)
                where = f"{lang} {method.upper()} {url} ({response.status_code})"
                if response.status_code >= 500:
                    failures.append(f"{where}: server error")
                    continue
                if response.status_code != 200 and response.status_code != 400:
                    continue
                pages_read += 1
                body = response.content.decode()
                failures += [f"{where}: {p}" for p in problems_of(body, lang, phrases, keys)]
    # Consent, the questions and the missed answer were reached, not only redirects.
    assert pages_read >= len(LANGUAGES) * 8
    assert not failures, f"{len(failures)} pages not in words:\n" + "\n".join(failures)
