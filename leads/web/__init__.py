"""The dashboard at /app/: server-rendered pages over the same selectors and services as the API."""
