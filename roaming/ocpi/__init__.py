"""OCPI wire formats and plumbing: one package per protocol version (`v221` first), plus what
every version shares (transport, pagination, authentication of partners' calls, versions).
Used by roaming's adapters, receivers and services; the rest of Plugway never sees OCPI."""
