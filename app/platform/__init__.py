"""Operating-system specifics the rest of the app asks for (console, Windows registry and services)."""
