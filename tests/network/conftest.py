from tests.escalation.conftest import responders, run_worker  # noqa: F401
from tests.referrals.conftest import (  # noqa: F401
    care_network,
    centre_coordinator,
    counsellor_a2,
    referral,
    slot_for,
)
