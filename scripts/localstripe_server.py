#!/usr/bin/env python3
"""Run localstripe (a stateful fake Stripe API, test/dev only) on loopback, fast.

    .venv/bin/python scripts/localstripe_server.py --port 8420
    .venv/bin/python scripts/localstripe_server.py --port 0   # a free port, printed on stdout

The stock `localstripe` command binds every interface and pickles its whole store to /tmp after
every write (slow, and shared between parallel servers). This wrapper binds 127.0.0.1 only,
keeps the store in memory, and adds two test conveniences:

- it prints `localstripe listening on http://127.0.0.1:<port>` once it accepts connections;
- its Stripe.js stand-in gets our card form (`scripts/localstripe_card.js`: labelled fields,
  an error under the field that is wrong, four-digit years) instead of localstripe's bare one;
- `GET /_config/requests` lists the API writes it received (method, path and the
  `Idempotency-Key` header, "" without one; oldest first), so a test can assert how often we
  really called Stripe and with which keys (localstripe itself ignores them); `DELETE
  /_config/data` (localstripe's own flush) also forgets that log and the registered webhooks.

`--webhook-url`/`--webhook-secret` register a webhook endpoint at start-up, so `dev.py run`
receives the events localstripe sends (payment_intent.succeeded / payment_failed).
"""

import argparse
import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import localstripe
from aiohttp import web
from localstripe import resources, server, webhooks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_LOG: list[dict[str, str]] = []
# localstripe's Stripe.js stand-in, then our card form over its Card Element.
STRIPE_JS = "\n".join(
    path.read_text()
    for path in (
        Path(localstripe.__file__).parent / "localstripe-v3.js",
        Path(__file__).parent / "localstripe_card.js",
    )
)


@web.middleware
async def request_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/_config/requests":
        return web.json_response(REQUEST_LOG)
    if request.path == "/js.stripe.com/v3/":
        return web.Response(text=STRIPE_JS, content_type="application/javascript")
    if request.method == "DELETE" and request.path == "/_config/data":
        REQUEST_LOG.clear()
        webhooks._webhooks.clear()
    elif request.method in ("POST", "DELETE") and request.path.startswith("/v1/"):
        key = request.headers.get("Idempotency-Key", "")
        REQUEST_LOG.append({"method": request.method, "path": request.path, "idempotency_key": key})
    return await handler(request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args()

    # Nothing is written to disk: every start is from scratch.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    server.app.middlewares.insert(0, request_log)
    if args.webhook_url and args.webhook_secret:
        webhooks.register_webhook("plugway", args.webhook_url, args.webhook_secret, None)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    asyncio.run(serve(sock))


async def serve(sock: socket.socket) -> None:
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    print(f"localstripe listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
