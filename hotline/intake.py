"""来电入队: queueing a call from a number, in as few round trips as the database allows.

This is the path a burst of calls takes (the Twilio webhook, and manual calls for no known
person), so its database work is a fixed few statements rather than one per row:

1. one look-up: the newest person with the number, their open case and its active grants, and
   whether any operator is free (so a full queue is not asked for an offer on every call);
2. one write: the new person, case and first stage visit where needed, and the call
   (PostgreSQL: a single statement of chained ``INSERT ... RETURNING``; elsewhere one INSERT per
   row, the embedded default being local);
3. one write for both events and their audiences (``realtime.publish.publish_all``).

Rows are built as model instances and their column values prepared by the model fields, exactly
as ``Model.save`` would, so a new field with a default needs nothing here.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from django.db import connection
from django.db.models import JSONField, Model
from django.utils import timezone

from directory.models import Organisation, Region, RegionLevel
from hotline import queue
from hotline.events import call_audiences, call_data, case_opened_data
from hotline.models import (
    Call,
    CallerRelation,
    Case,
    CaseAccess,
    Person,
    Risk,
    Stage,
    StageVisit,
)
from realtime import audiences as aud
from realtime.publish import Draft, publish_all


@dataclass
class Found:
    """What the number tells before anyone speaks (来电识别)."""

    person: Person | None = None
    case: Case | None = None
    case_org_ids: set[int] = field(default_factory=set)
    operator_free: bool = False
    district_id: int | None = None  # of the person's home region, for a new case


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


_lookup_sql: dict[str, str] = {}


def _lookup(free_operators_sql: tuple[str, list]) -> str:
    """The look-up statement (its text built once per process and database)."""
    sql = _lookup_sql.get(connection.vendor)
    if sql is None:
        p, c, g, r = _table(Person), _table(Case), _table(CaseAccess), _table(Region)
        sql = _lookup_sql[connection.vendor] = (
            "SELECT p.id, p.name, p.is_anonymous, c.id, c.stage, c.risk, "  # noqa: S608
            f"c.owning_organisation_id, g.organisation_id, EXISTS ({{free}}), "
            # The district whose path starts the home region's (Case.district).
            f"(SELECT d.id FROM {r} h JOIN {r} d ON d.level = '{RegionLevel.DISTRICT}' "
            "AND substr(h.path, 1, length(d.path)) = d.path WHERE h.id = p.home_region_id) "
            "FROM (SELECT 1 AS one) one "
            f"LEFT JOIN (SELECT id, name, is_anonymous, home_region_id FROM {p} WHERE phone = %s "
            "ORDER BY id DESC LIMIT 1) p ON 1 = 1 "
            f"LEFT JOIN {c} c ON c.person_id = p.id AND c.stage <> %s "
            f"LEFT JOIN {g} g ON g.case_id = c.id AND g.revoked_at IS NULL"
        )
    return sql.replace("{free}", free_operators_sql[0])


def identify(number, hotline_id: int, free_operators_sql: tuple[str, list]) -> Found:
    """The person with this number (the newest, if several), their open case with the
    organisations that may see it, and whether an operator of the hotline is free; one query.

    ``free_operators_sql`` is the compiled free-operators query with its parameters."""
    phone = Person._meta.get_field("phone").get_prep_value(number) if number else None
    sql = _lookup(free_operators_sql)
    with connection.cursor() as cursor:
        # The sub-select's parameters come first: it is the first placeholder in the text.
        cursor.execute(sql, [*free_operators_sql[1], phone, Stage.CLOSED])
        rows = cursor.fetchall()
    first = rows[0]
    found = Found(operator_free=bool(first[8]))
    if first[0] is None:
        return found
    found.person = Person(id=first[0], name=first[1], is_anonymous=first[2], phone=phone or "")
    found.district_id = first[9]
    if first[3] is not None:
        found.case = Case(
            id=first[3],
            person=found.person,
            stage=first[4],
            risk=first[5],
            owning_organisation_id=first[6],
        )
        found.case_org_ids = {first[6]} | {row[7] for row in rows if row[7] is not None}
    return found


def _values(obj: Model) -> tuple[list[str], list]:
    """Columns and parameters to insert ``obj`` as ``Model.save`` would."""
    columns, params = [], []
    for f in obj._meta.concrete_fields:
        if not f.primary_key:
            columns.append(connection.ops.quote_name(f.column))
            params.append(f.get_db_prep_save(f.pre_save(obj, add=True), connection))
    return columns, params


def _json_value(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()  # full precision (DjangoJSONEncoder would cut microseconds)
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} as a row value")


def _json_row(obj: Model, refs: dict[str, str]) -> tuple[list[str], list[str], str]:
    """``obj``'s columns, their expressions (``r.<column>`` or a reference) and the row as one
    JSON object for ``json_populate_record``: one parameter per row instead of one per column,
    so psycopg keeps the statement's parsed form and adapts one value."""
    columns, exprs, row = [], [], {}
    for f in obj._meta.concrete_fields:
        if f.primary_key:
            continue
        column = connection.ops.quote_name(f.column)
        columns.append(column)
        if f.column in refs:
            exprs.append(refs[f.column])
            continue
        exprs.append(f"r.{column}")
        value = f.pre_save(obj, add=True)
        # A JSON column takes the object itself; every other value as the database would.
        row[f.column] = value if isinstance(f, JSONField) else f.get_db_prep_save(value, connection)
    return columns, exprs, json.dumps(row, default=_json_value, ensure_ascii=False)


def write_rows(rows: list[tuple[str, Model, dict[str, str]]]) -> dict[str, int]:
    """Insert ``rows`` - (name, instance, {column: name of an earlier row}) - in order and
    return each name's new id (also set on the instance). One statement on PostgreSQL."""
    if connection.vendor == "postgresql":
        ctes, params = [], []
        for name, obj, refs in rows:
            table = _table(type(obj))
            sources = "".join(f", {r}" for r in sorted(set(refs.values())))
            columns, exprs, row = _json_row(obj, {c: f"{r}.id" for c, r in refs.items()})
            ctes.append(
                f"{name} AS (INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {', '.join(exprs)} "
                f"FROM json_populate_record(NULL::{table}, %s::json) r{sources} RETURNING id)"
            )
            params.append(row)
        names = ", ".join(f"(SELECT id FROM {name})" for name, _obj, _refs in rows)  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(ctes)} SELECT {names}", params)
            ids = dict(zip([name for name, _o, _r in rows], cursor.fetchone(), strict=True))
    else:
        ids = {}
        with connection.cursor() as cursor:
            for name, obj, refs in rows:
                for column, ref in refs.items():
                    setattr(obj, column, ids[ref])
                columns, values = _values(obj)
                meta = obj._meta
                cursor.execute(
                    f"INSERT INTO {_table(type(obj))} ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({', '.join(['%s'] * len(values))})",
                    values,
                )
                ids[name] = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    for name, obj, refs in rows:
        obj.pk = ids[name]
        obj._state.adding = False
        for column, ref in refs.items():
            setattr(obj, column, ids[ref])
    return ids


@dataclass
class Intake:
    """A call to queue (the webhook's fields, or an operator's for a manual call)."""

    hotline: Organisation
    call_sid: str
    channel: str
    number: object  # a PhoneNumber or None (withheld)
    from_raw: str = ""
    to_number: object = None
    caller_name: str = ""
    caller_relation: str = CallerRelation.UNKNOWN
    notes: str = ""
    actor_id: int | None = None
    callback_of: Call | None = None

    def build_call(self, person, case, priority: int, reasons: list[str], now) -> Call:
        """The queued call (unsaved), ranked by ``priority`` from ``now``."""
        return Call(
            call_sid=self.call_sid,
            hotline=self.hotline,
            channel=self.channel,
            from_number=self.number or "",
            from_raw=(self.from_raw or "")[:64],
            to_number=self.to_number or "",
            caller_name=self.caller_name,
            caller_relation=self.caller_relation,
            person=person,
            case=case,
            priority=priority,
            priority_reasons=reasons,
            rank_at=queue.rank_at(now, priority),
            queued_at=now,
            notes=self.notes,
            callback_of=self.callback_of,
        )


def enqueue(intake: Intake, found: Found, priority_of) -> tuple[Call, list[dict]]:
    """Write the person and case if new, the call and its events; returns the call and the
    events (wire form). ``priority_of(channel, case)`` is the queue's rule."""
    now = timezone.now()
    rows: list[tuple[str, Model, dict[str, str]]] = []
    person, case = found.person, found.case
    drafts = []
    new_case = case is None
    if person is None:
        person = Person(phone=intake.number or "", is_anonymous=intake.number is None)
        rows.append(("person", person, {}))
    if new_case:
        case = Case(
            person=person,
            owning_organisation=intake.hotline,
            risk=Risk.NONE,
            stage=Stage.DISCOVERY,
            stage_entered_at=now,
            opened_at=now,
            district_id=found.district_id,
        )
        refs = {"person_id": "person"} if person.pk is None else {}
        rows.append(("case_", case, refs))
        visit = StageVisit(case=case, stage=Stage.DISCOVERY, entered_at=now)
        rows.append(("visit", visit, {"case_id": "case_"}))
    priority, reasons = priority_of(intake.channel, None if new_case else case)
    call = intake.build_call(person, case, priority, reasons, now)
    refs = {}
    if person.pk is None:
        refs["person_id"] = "person"
    if case.pk is None:
        refs["case_id"] = "case_"
    rows.append(("call", call, refs))
    write_rows(rows)
    call.person, call.case = person, case  # the instances, with their new ids

    if new_case:
        drafts.append(
            Draft(
                "case.opened",
                case_opened_data(person, case),
                [aud.org(intake.hotline.pk)],
                case_id=case.pk,
                actor_id=intake.actor_id,
            )
        )
        case_org_ids = {intake.hotline.pk}
    else:
        case_org_ids = found.case_org_ids
    drafts.append(
        Draft(
            "call.queued",
            call_data(call),
            [*call_audiences(call), *(aud.org(o) for o in case_org_ids)],
            case_id=case.pk,
            actor_id=intake.actor_id,
        )
    )
    return call, publish_all(drafts)
