"""OCPI 2.2.1: wire schemas (`schemas`), used by the roaming adapter and the sandbox CPO; what
the adapter reads (`reading`), sends and receives for charging (`commands`, `sessions`), and its
rendering of our stored objects (`render`)."""
