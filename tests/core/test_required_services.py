"""In CI (REQUIRE_SERVICES=1) the suite must run on real PostgreSQL and Redis, never skip them."""

import pytest

from tests.conftest import REQUIRE_SERVICES, redis_available, using_postgres


@pytest.mark.skipif(not REQUIRE_SERVICES, reason="only meaningful where services are required")
def test_ci_runs_on_real_postgres_and_redis(db):
    assert using_postgres(), "DATABASE_URL must point at PostgreSQL in CI"
    assert redis_available(), "REDIS_URL must point at a reachable Redis in CI"
