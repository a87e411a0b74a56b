from tests.referrals.conftest import (  # noqa: F401 - shared fixtures of referrals and care
    care_network,
    centre_coordinator,
    counsellor_a2,
    referral,
    slot_for,
)
