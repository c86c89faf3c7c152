print("capuchin: not built yet")
