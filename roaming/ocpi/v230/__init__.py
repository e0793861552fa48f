"""OCPI 2.3.0: the wire schemas that differ from 2.2.1 (everything else is 2.2.1's)."""
