"""PostgreSQL as Django's backend has it, with a cheaper connection health check (base.py),
and which database errors mean an outage (errors.py)."""
