"""Drivers' accounts beyond what allauth keeps: the public display name other drivers see
(never anything from the email address), chosen at sign-up."""
