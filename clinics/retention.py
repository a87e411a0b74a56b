"""Care notes scrubbed when a person is anonymised at the end of retention (see
``hotline.services.retention``)."""

from clinics.models import CounsellingSession, FollowUpAttempt


def anonymise_care_notes(person_ids: list[int]) -> None:
    CounsellingSession.objects.filter(case__person_id__in=person_ids).update(notes="")
    FollowUpAttempt.objects.filter(follow_up__case__person_id__in=person_ids).update(notes="")
