"""Roaming: partners and OCPI. Onboarding (credentials), pulls (services.sync), the receiver
endpoints partners push to (receivers), the adapters that turn each protocol version into
catalogue records and back (adapters, ocpi), and what we record of every call.

Roaming may call locator's catalogue (locator.catalogue) and reads (locator.selectors), and
payments' services; nothing outside roaming imports it but config's URLs and Celery tasks.
"""
