"""``dial batch``: work items in, one request each on the async engine, JSON Lines out."""
