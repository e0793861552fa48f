"""OCPI 2.2.1: wire schemas (`schemas`), used by the roaming adapter and the sandbox CPO."""
