"""Dispatch addresses and notes scrubbed when a person is anonymised at the end of retention
(see ``hotline.services.retention``); the dispatch's region, outcome and dates are kept."""

from escalation.models import Dispatch


def anonymise_dispatches(person_ids: list[int]) -> None:
    Dispatch.objects.filter(case__person_id__in=person_ids).update(address="", notes="")
