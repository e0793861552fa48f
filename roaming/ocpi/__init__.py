"""OCPI wire formats and plumbing: one package per protocol version (`v221`, with `v211` and
`v230` holding only what differs from it), plus what
every version shares (transport, pagination, authentication of partners' calls, versions).
Used by roaming's adapters, receivers and services; the rest of Plugway never sees OCPI."""
