"""The sandbox CPO: a stand-alone OCPI 2.2.1 charge point operator with simulated charging.

It runs in its own process (or a thread, in tests), keeps everything in memory and shares no
database with Plugway; it never imports Plugway's roaming adapter, so it is an independent
partner to test that adapter against.

    python manage.py sandbox_cpo --port 9100 --stations 2000 --seed 7 --token-a sandbox-a

prints its versions URL and token A, and serves until stopped. See `sandbox_cpo --help` for
every option. Modules:

    config      SandboxConfig: every knob (ports, seed, churn, faults, timings)
    cities      the built-in European city centres (`--region` picks the nearest)
    stations    the deterministic station generator
    tariffs     the tariff catalogue, one of each OCPI shape, in EUR
    pricing     CDR pricing from a tariff (restrictions, step_size, VAT, min/max price)
    catalogue   the in-memory locations and tariffs, pre-serialised for fast paging
    credentials the receiving side of the credentials handshake (tokens A, B, C)
    simulator   commands, sessions, CDRs, reservations and status churn
    push        the ordered, timeout-bound HTTP pushes to the registered eMSP
    server      the HTTP routes and the `SandboxCpo` that ties it all together
"""
