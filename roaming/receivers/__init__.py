"""Our OCPI receiver endpoints: partners push objects they own, we store them.

One module per OCPI module group (`catalogue`: locations and tariffs); only `roaming.urls`
routes to them. Each parses a push once with the partner's adapter, calls one service (for the
catalogue: one `locator.catalogue` function), and maps its errors to OCPI status codes.
"""
