"""PostgreSQL as Django's backend has it, with a cheaper connection health check (base.py)."""
