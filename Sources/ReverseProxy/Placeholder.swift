// ReverseProxy: see the issue for this target.
