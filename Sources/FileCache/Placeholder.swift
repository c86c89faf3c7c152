// FileCache: see the issue for this target.
