"""Real local servers that tests talk to over sockets: scripted bytes and an Ollama stand-in."""
