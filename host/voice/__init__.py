"""Japanese voice guidance: the prompt catalog, its pre-rendered WAVs and a player."""
