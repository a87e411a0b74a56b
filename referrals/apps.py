from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _on_disposition(sender, *, actor, case, disposition, summary=None, call=None, **kwargs):
    """ "Refer": push the case to the counselling centre inside the triage transaction;
    "continue the existing referral": add the call to the case's open referral. Returns the
    referral so triage can name what it created or continued."""
    # Imported late: Django imports apps.py before any model exists.
    from referrals.services import continue_from_disposition, refer_from_disposition

    if disposition == "refer":
        return refer_from_disposition(actor, case, summary or {})
    if disposition == "continue_referral":
        return continue_from_disposition(actor, case, summary or {}, call=call)
    return None


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Referrals")

    def ready(self):
        # Imported late: Django imports apps.py before any model exists.
        from hotline.caseplan import register_item_source
        from hotline.closing import register_close_check
        from hotline.signals import disposition_made
        from referrals.selectors import case_items
        from referrals.services import open_referral_reasons

        disposition_made.connect(_on_disposition, dispatch_uid="referrals.refer_on_disposition")
        register_close_check(open_referral_reasons)
        register_item_source(case_items)
