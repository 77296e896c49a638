"""HubSpot: `client` (the official SDK, rate limits, paging) and `sync` (contact <-> lead mapping)."""
