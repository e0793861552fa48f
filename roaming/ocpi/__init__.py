"""OCPI wire formats, one package per protocol version (`v221` first)."""
