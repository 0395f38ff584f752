"""The officers' screens for customers' data-subject requests (inside the officers' portal)."""
