"""A partial index of the contact events (``dashboard.selectors.CONTACT_EVENT_TYPES``) by id
and case: "no contact in N days" reads the last N days of contacts from the index alone
instead of every event of those days. On the event log's table, but the dashboard's: what
counts as contact is the dashboard's to say. Its predicate must list exactly those types
(``tests/dashboard/test_figures.py`` checks it); a change to the list needs a new migration."""

from django.db import migrations

CONTACT_EVENT_TYPES = (
    "case.opened",
    "call.accepted",
    "call.triaged",
    "call.completed",
    "follow_up.attempted",
    "appointment.attended",
    "referral.attended",
    "admission.admitted",
    "admission.discharged",
    "plan.checked_in",
    "dispatch.leg_progressed",
)
TYPES = ", ".join(f"'{t}'" for t in CONTACT_EVENT_TYPES)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0004_open_case_tally"),
        ("realtime", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX event_contact ON realtime_event (id, case_id) WHERE type IN ({TYPES})",
            "DROP INDEX event_contact",
        ),
    ]
