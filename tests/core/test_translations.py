"""Every Chinese catalogue is complete, and its compiled .mo matches the .po that is committed."""

import gettext
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(
    p
    for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po")
    if ".venv" not in p.parts and "staticfiles" not in p.parts
)
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.M)
CONTEXT = re.compile(r'^msgctxt ((?:".*"\n)+)', re.M)


def _unquote(lines: str) -> str:
    return (
        "".join(re.findall(r'"(.*)"', lines))
        .encode()
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8")
    )


def entries(po: Path):
    for block in po.read_text().split("\n\n"):
        match = ENTRY.search(block + "\n")
        if match and match.group(1) != '""\n':
            context = CONTEXT.search(block + "\n")
            yield (
                block,
                _unquote(context.group(1)) if context else None,
                _unquote(match.group(1)),
                _unquote(match.group(2)),
            )


def test_there_are_catalogues():
    assert len(CATALOGUES) >= 6


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_catalogue_is_complete_and_compiled(po):
    compiled = gettext.GNUTranslations(po.with_suffix(".mo").open("rb"))
    for block, context, msgid, msgstr in entries(po):
        assert "fuzzy" not in block.split("msgid")[0], f"fuzzy: {msgid!r}"
        assert msgstr, f"untranslated: {msgid!r}"
        found = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
        assert found == msgstr, f".mo is stale for {msgid!r}"
