from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _on_disposition(sender, *, actor, case, disposition, summary=None, **kwargs):
    # Imported late: Django imports apps.py before any model exists.
    from clinics.services import on_disposition

    # The follow-ups it schedules go back to triage, which names them in its answer.
    return on_disposition(actor, case, disposition, risk=(summary or {}).get("risk") or case.risk)


def _on_referral_changed(sender, *, actor, referral, change, **kwargs):
    from clinics.services import on_referral_changed

    on_referral_changed(actor, referral, change)


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = _("Care (counselling, hospital, follow-up)")

    def ready(self):
        # Imported late: Django imports apps.py before any model exists.
        from clinics.selectors import case_items
        from clinics.services import open_work_reasons
        from hotline.caseplan import register_item_source
        from hotline.closing import register_close_check
        from hotline.signals import disposition_made
        from referrals.signals import referral_changed

        disposition_made.connect(_on_disposition, dispatch_uid="clinics.follow_up_on_disposition")
        referral_changed.connect(_on_referral_changed, dispatch_uid="clinics.on_referral_changed")
        register_close_check(open_work_reasons)
        register_item_source(case_items)

        # Retention (issue 15): session and follow-up notes go with the person's identity.
        from clinics.retention import anonymise_care_notes
        from hotline.services.retention import register_anonymiser

        register_anonymiser(anonymise_care_notes)
