"""OCPI 2.2.1: wire schemas (`schemas`), shared by the sandbox CPO and the roaming adapter,
and the rendering of our stored objects (`render`), used by the adapter."""
