"""The HTTP API's routers, one per concern; ``web.app`` includes them."""
