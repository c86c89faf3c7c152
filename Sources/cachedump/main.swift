print("cachedump: not built yet")
