"""Payments: one billing account per driver, saved cards, holds, captures, refunds, receipts and
Stripe webhooks. `payments.gateway` is the only module that imports `stripe`.

- Writes: `payments.services` (the charging flow's contract is in `services/holds.py`).
- Reads: `payments.selectors`. Tasks: `payments.tasks` (`payments_reconcile` runs from beat).
- Pages: `/account/payment-methods/` (cards), `/payments/<id>/authenticate/` (3-D Secure),
  `/payments/stripe/webhook/` (Stripe events).
- Locally and in tests Stripe is localstripe on loopback (`scripts/localstripe_server.py`,
  started by `python3 scripts/dev.py run` and by the tests' fixture).
"""
