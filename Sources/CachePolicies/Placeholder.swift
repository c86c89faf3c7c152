// CachePolicies: see the issue for this target.
