"""The web: the JSON API under /api and the pages people use in a browser."""
