"""OCPI 2.1.1: wire schemas and their translation to and from 2.2.1's shapes."""
