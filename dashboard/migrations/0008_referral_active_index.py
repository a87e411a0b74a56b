"""A partial index of the live referrals (``referrals.models.ACTIVE_STATES``) by receiver,
state, deadline and case: the responsibilities table counts each organisation's open and
overdue referrals from the index alone, reading as many entries as referrals are in hand,
not the years of finished ones. On the referrals' table, but the dashboard's, like
``event_contact``. Its predicate must list exactly those states
(``tests/dashboard/test_figures.py`` checks it); a change to the list needs a new migration."""

from django.db import migrations

ACTIVE_STATES = ("sent", "acknowledged", "pre_assessed", "scheduled", "attended")
STATES = ", ".join(f"'{s}'" for s in ACTIVE_STATES)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0007_drop_open_case_tally"),
        ("referrals", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX referral_active_receiver ON referrals_referral "
            f"(receiver_id, state, ack_due_at, case_id) WHERE state IN ({STATES})",
            "DROP INDEX referral_active_receiver",
        ),
    ]
