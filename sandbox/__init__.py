"""The sandbox: a simulated partner network for the embedded demo, the tests and the benchmarks.

Installed in development and tests only (`config/settings.py` leaves it out when
`DJANGO_ENV=production`); no module of `locator`, `roaming` or `payments` may import it, while
tests, `bench/` and `scripts/` may. Most of it is the sandbox CPO: a stand-alone OCPI 2.2.1
charge point operator with simulated charging, which speaks 2.1.1 or 2.3.0 instead with
`--ocpi-version` (`dialects`: the simulator keeps 2.2.1 objects, shaped for the version at the
wire). It runs in its own process (or a thread, in tests), keeps everything in memory and
shares no database with Plugway. Of Plugway it imports only OCPI wire schemas
(`roaming.ocpi.v221.schemas` and the open `Version` of `v230`, transcriptions of the spec),
never the roaming adapters or the catalogue, so it is an independent partner to test them
against. Two parts work on Plugway's side instead, for the embedded demo and the benchmarks:
`demo` reads the generated stations into the catalogue through the OCPI 2.2.1 adapter (the
`catalogue_demo` command), and the `sandbox_connect` command registers Plugway with a running
sandbox through `roaming.services`, as an admin would.

    python manage.py sandbox_cpo --port 9100 --stations 2000 --seed 7 --token-a sandbox-a

prints its versions URL and token A, and serves until stopped. See `sandbox_cpo --help` for
every option. What a partner sees:

- Registration (credentials, receiving side): GET versions and details with token A, POST your
  credentials (token B, your versions URL, your roles) with token A; the sandbox calls your
  versions and details back with token B and answers token C. Token A then stops working; PUT
  rotates (new B in, new C out); DELETE unregisters, after which token A works again.
  `Authorization: Token <base64>`; `--accept-raw-tokens` also takes the raw token (2.1.1
  always does). `SandboxCpo.desk.register_with(versions_url, token_a)` registers the sandbox
  with an eMSP that invited it (the sandbox as Sender of credentials).
- Pull: locations (list, location, EVSE, connector), tariffs, sessions (date_from required)
  and CDRs, paged with offset/limit/date_from/date_to, `Link`, `X-Total-Count`, `X-Limit`.
- Charge: POST commands (START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION,
  UNLOCK_CONNECTOR); the CommandResult, Session PUT/PATCHes, EVSE status PATCHes and the CDR
  are pushed to your receivers with token B. Tokens you PUT/PATCH to us are honoured
  (`valid: false` makes START_SESSION REJECTED), of the types the version has (2.1.1: OTHER,
  RFID). `SandboxCpo.simulator.charger_start(evse_uid, token_uid, type)` plays a driver at
  the charger: the sandbox asks your tokens sender to authorize in real time and charges only
  on ALLOWED.
- Faults: `--latency-ms`, `--fail-rate` (module requests only: 500, malformed JSON, or held
  for `--fault-delay` and dropped), `--invalid-locations` (served broken in list pages only),
  and `--status-churn` EVSE status changes a second.
- Liveness: statuses are dated from the run's start (never older than the run), and
  `--status-refresh S` re-confirms every EVSE's status within S seconds.

Modules:

    config      SandboxConfig: every knob (ports, seed, churn, faults, timings)
    cities      the built-in European city centres (`--region` picks the nearest), or the real
                US sites of an AFDC export
    stations    the deterministic station generator (also behind `demo`)
    tariffs     the tariff catalogue, one of each OCPI shape, in EUR
    pricing     CDR pricing from a tariff (restrictions, step_size, VAT, min/max price)
    catalogue   the in-memory locations and tariffs, pre-serialised for fast paging
    credentials the receiving side of the credentials handshake (tokens A, B, C)
    simulator   commands, sessions, CDRs, reservations and status churn
    push        the ordered, timeout-bound HTTP pushes to the registered eMSP
    routes      the OCPI endpoints: (method, path, query, token, body) -> reply
    server      the HTTP server and the `SandboxCpo` that ties it all together
    demo        the generated stations and tariffs as catalogue records (Plugway's side)
"""
