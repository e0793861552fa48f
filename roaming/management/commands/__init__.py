"""Roaming's command-line tools (partner onboarding, pulls): thin, each calls one service."""
