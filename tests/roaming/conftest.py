"""Roaming's fixtures: the charging network on loopback (Plugway's live server, a running
sandbox CPO, localstripe). The sandbox fixtures come from tests.sandbox.fixtures (a plugin)."""

from tests.payments.conftest import flaky_stripe, localstripe, localstripe_server  # noqa: F401
from tests.roaming.charging import charging_net, charging_net_factory  # noqa: F401
from tests.roaming.registered import registered  # noqa: F401
