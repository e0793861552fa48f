"""`catalogue_demo` loads demo stations through the catalogue; `catalogue_cluster` reorders the
station table on disk by map cell."""
