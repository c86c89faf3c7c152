// Admin: see the issue for this target.
