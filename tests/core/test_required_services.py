"""In CI's service run the suite must run on real PostgreSQL and Redis, never skip them.

Marked for both services: the embedded-default run deselects it, and with REQUIRE_SERVICES=1 a
missing service fails it before it starts."""

import pytest

from tests.conftest import redis_available, using_postgres


@pytest.mark.postgres
@pytest.mark.redis
def test_ci_runs_on_real_postgres_and_redis(db):
    assert using_postgres(), "DATABASE_URL must point at PostgreSQL in CI"
    assert redis_available(), "REDIS_URL must point at a reachable Redis in CI"
