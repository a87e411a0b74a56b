"""A real worker process is SIGKILLed mid-round and restarted: every alert still escalates, and
no step fires twice (PostgreSQL: row claims with SKIP LOCKED)."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from escalation import services
from escalation.models import EscalationPolicy, Timer
from escalation.services import AlertSpec
from realtime.models import Event

ROOT = Path(__file__).resolve().parents[2]
ALERTS = 40


def _worker_env() -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=url,
        ESCALATION_WORKER_BATCH="5",
        ESCALATION_WORKER_STEP_DELAY="0.05",
        ESCALATION_WORKER_POLL="0.1",
        ESCALATION_SOURCES_POLL="3600",
    )
    return env


def _start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "escalation_worker", "--max-seconds", "90"],
        cwd=ROOT,
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _fired_steps() -> Counter:
    return Counter(
        (e.data["alert"], e.data["fired_round"], e.data["fired_step"])
        for e in Event.objects.filter(type="alert.notified")
    )


def _wait_until(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_no_escalation_and_fires_none_twice(network, coordinator):
    EscalationPolicy.objects.create(
        name="fault",
        alert_kind="fault",
        max_rounds=1,
        steps=[
            {"whom": "target", "how": ["console"], "wait": 2},
            {"whom": "on_duty_coordinator", "how": ["console"], "wait": 2},
        ],
    )
    for n in range(ALERTS):
        services.raise_alert(
            AlertSpec(
                dedup_key=f"fault:{n}",
                kind="fault",
                title=f"fault {n}",
                target_organisation=network["hotline"],
                target_role="coordinator",
            )
        )
    first = _start_worker()
    try:
        assert _wait_until(lambda: len(_fired_steps()) >= 10, 60), "worker never fired"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    in_the_middle = Timer.objects.filter(fired_at__isnull=True, kind="alert_step").count()
    assert in_the_middle > 0, "the kill should land in the middle of the round"

    restarted, second = _start_worker(), _start_worker()
    try:
        done = _wait_until(lambda: len(_fired_steps()) >= ALERTS * 2, 80)
    finally:
        for proc in (restarted, second):
            proc.send_signal(signal.SIGTERM)
        for proc in (restarted, second):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    fired = _fired_steps()
    assert done, f"only {len(fired)} of {ALERTS * 2} steps fired"
    assert set(fired) == {(n, 0, s) for n in _alert_ids() for s in (0, 1)}
    assert max(fired.values()) == 1, "a step fired twice"
    assert not Timer.objects.filter(fire_count__gt=1).exists()


def _alert_ids() -> list[int]:
    from escalation.models import Alert

    return list(Alert.objects.filter(kind="fault").values_list("pk", flat=True))
