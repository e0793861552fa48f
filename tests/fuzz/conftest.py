"""Fuzzing budget: hypothesis profiles for the schemathesis and OCPI fuzz tests.

`ci` (the default) is bounded and derandomized, so a run takes about a minute and finds the
same things every time; `deep` (HYPOTHESIS_PROFILE=deep) tries many more random inputs, for a
bug hunt by hand. Each profile has no deadline: a request's time depends on a shared machine.
"""

import os

from hypothesis import HealthCheck, settings

SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=SLOW_IS_FINE,
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=SLOW_IS_FINE,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
