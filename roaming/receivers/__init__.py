"""Our OCPI receiver endpoints: partners push objects they own, we store them.

One module per OCPI module group (`catalogue`: locations and tariffs); `roaming.urls` routes
to them. Each parses once, calls one service, and maps its errors to OCPI status codes.
"""
