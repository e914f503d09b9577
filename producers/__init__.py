"""Put data on topics: replay recorded files and synthetic streams with known drift."""
