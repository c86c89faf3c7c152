// CacheStore: see the issue for this target.
