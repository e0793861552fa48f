"""The fuzzing budget: hypothesis profiles for the schemathesis and OCPI fuzz tests.

`bounded` (the default, what CI runs) tries a modest number of inputs per test, derandomized
and without an example database, so the whole directory takes about a minute and finds the same
things on every run. `deep` (HYPOTHESIS_PROFILE=deep) tries many more random inputs, for a bug
hunt by hand. Neither has a deadline: a request's time depends on a shared machine.
(Named apart from hypothesis's own `ci` profile, which it loads by itself when CI is set.)
"""

import os

from hypothesis import HealthCheck, settings

SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "bounded",
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
    # A long random hunt reports bugs, not how hard some inputs were to make.
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded"))
