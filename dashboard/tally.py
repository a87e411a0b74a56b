"""The open-case tally (``OpenCaseTally``): the triggers that keep it, reading, folding, recounting.

Triggers, not application code, so every writer of a case is counted: the services, intake's
own INSERT, bulk updates (``Person.save`` moving a district), the admin, migrations. The tally
is exact in every transaction; folding or recounting it changes no sum.

``install`` runs after every ``migrate`` (``dashboard.apps``): it creates missing triggers and
recounts. That is also how they come back after SQLite drops them with a table a migration
rebuilds.
"""

from django.db import connection as default_connection
from django.db import transaction
from django.db.models import Sum

from dashboard.models import OpenCaseTally

TALLY = "dashboard_opencasetally"
CASE = "hotline_case"
COLUMNS = ("stage", "risk", "owning_organisation_id", "district_id")
NAME = "dashboard_open_case_tally"


def _row(side: str, n: int) -> str:
    return (
        f"INSERT INTO {TALLY} (stage, risk, organisation, district, n) SELECT {side}.stage, "
        f"{side}.risk, {side}.owning_organisation_id, COALESCE({side}.district_id, 0), {n}"
    )


_UNCHANGED = " AND ".join(f"OLD.{c} IS NOT DISTINCT FROM NEW.{c}" for c in COLUMNS)
POSTGRESQL = [
    f"""
    CREATE OR REPLACE FUNCTION {NAME}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND {_UNCHANGED} THEN
            RETURN NULL;  -- a save that changed none of the counted columns
        END IF;
        IF TG_OP <> 'INSERT' AND OLD.stage <> 'closed' THEN
            {_row("OLD", -1)};
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.stage <> 'closed' THEN
            {_row("NEW", 1)};
        END IF;
        RETURN NULL;
    END $$
    """,
    f"DROP TRIGGER IF EXISTS {NAME} ON {CASE}",
    f"""
    CREATE TRIGGER {NAME} AFTER INSERT OR DELETE OR UPDATE OF {", ".join(COLUMNS)} ON {CASE}
    FOR EACH ROW EXECUTE FUNCTION {NAME}()
    """,
]
POSTGRESQL_DROP = [f"DROP TRIGGER IF EXISTS {NAME} ON {CASE}", f"DROP FUNCTION IF EXISTS {NAME}()"]

_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)
SQLITE_TRIGGERS = {
    f"{NAME}_insert": f"""
        CREATE TRIGGER {NAME}_insert AFTER INSERT ON {CASE}
        WHEN NEW.stage <> 'closed' BEGIN {_row("NEW", 1)}; END
    """,
    f"{NAME}_delete": f"""
        CREATE TRIGGER {NAME}_delete AFTER DELETE ON {CASE}
        WHEN OLD.stage <> 'closed' BEGIN {_row("OLD", -1)}; END
    """,
    f"{NAME}_update": f"""
        CREATE TRIGGER {NAME}_update AFTER UPDATE OF {", ".join(COLUMNS)} ON {CASE}
        WHEN {_CHANGED} BEGIN
            {_row("OLD", -1)} WHERE OLD.stage <> 'closed';
            {_row("NEW", 1)} WHERE NEW.stage <> 'closed';
        END
    """,
}


def installed(connection=default_connection) -> bool:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal", [NAME]
            )
            return cur.fetchone()[0] == 1
        cur.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s, %s)",
            list(SQLITE_TRIGGERS),
        )
        return cur.fetchone()[0] == len(SQLITE_TRIGGERS)


def install(connection=default_connection) -> bool:
    """Create the triggers if any is missing and recount; returns whether it had to."""
    if connection.vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no open-case tally triggers for {connection.vendor}")
    with transaction.atomic(using=connection.alias):
        if installed(connection):
            return False
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                for sql in POSTGRESQL:
                    cur.execute(sql)
            else:
                for name, sql in SQLITE_TRIGGERS.items():
                    cur.execute(f"DROP TRIGGER IF EXISTS {name}")
                    cur.execute(sql)
        rebuild(connection)
    return True


def uninstall(connection=default_connection) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for sql in POSTGRESQL_DROP:
                cur.execute(sql)
        else:
            for name in SQLITE_TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")


def counts(by: str, *, risk=None, organisation=None, district=None) -> dict:
    """Open cases per value of ``by`` (stage, risk, organisation or district), narrowed by the
    dashboard's filters; groups that sum to zero are left out."""
    qs = OpenCaseTally.objects.all()
    for column, value in (("risk", risk), ("organisation", organisation), ("district", district)):
        if value is not None:
            qs = qs.filter(**{column: value})
    totals = qs.values_list(by).annotate(n=Sum("n")).order_by()
    return {key: n for key, n in totals if n}


def compact(connection=default_connection) -> int:
    """Fold the appended rows into one per group; returns the rows left."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # One statement: the rows it deletes are exactly the rows it sums; rows appended
            # meanwhile by open transactions stay, and are folded next time.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [NAME])
            cur.execute(
                f"WITH gone AS (DELETE FROM {TALLY} RETURNING stage, risk, organisation, "  # noqa: S608
                f"district, n) INSERT INTO {TALLY} (stage, risk, organisation, district, n) "
                "SELECT stage, risk, organisation, district, SUM(n) FROM gone "
                "GROUP BY stage, risk, organisation, district HAVING SUM(n) <> 0"
            )
        else:
            # SQLite has one writer at a time: the transaction sees every row there is.
            cur.execute(f"SELECT MAX(id) FROM {TALLY}")  # noqa: S608
            (last,) = cur.fetchone()
            if last is not None:
                cur.execute(
                    f"INSERT INTO {TALLY} (stage, risk, organisation, district, n) "  # noqa: S608
                    f"SELECT stage, risk, organisation, district, SUM(n) FROM {TALLY} "
                    "WHERE id <= %s GROUP BY stage, risk, organisation, district "
                    "HAVING SUM(n) <> 0",
                    [last],
                )
                cur.execute(f"DELETE FROM {TALLY} WHERE id <= %s", [last])  # noqa: S608
        cur.execute(f"SELECT count(*) FROM {TALLY}")  # noqa: S608
        return cur.fetchone()[0]


def rebuild(connection=default_connection) -> None:
    """Recount the tally from the open cases."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Writers wait (readers do not), so no case changes between the delete and the count.
            cur.execute(f"LOCK TABLE {CASE} IN SHARE MODE")
        cur.execute(f"DELETE FROM {TALLY}")  # noqa: S608
        cur.execute(
            f"INSERT INTO {TALLY} (stage, risk, organisation, district, n) "  # noqa: S608
            "SELECT stage, risk, owning_organisation_id, COALESCE(district_id, 0), COUNT(*) "
            f"FROM {CASE} WHERE stage <> 'closed' "
            "GROUP BY stage, risk, owning_organisation_id, COALESCE(district_id, 0)"
        )
