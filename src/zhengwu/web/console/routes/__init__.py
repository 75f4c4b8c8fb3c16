"""The review console's routers, one module per concern, all under ``/console`` and out of the OpenAPI schema:
``login`` (sign in and out), ``conversations`` (reading and reviewing answers), ``curated`` (curated answers),
``reports`` (knowledge gaps and review-set exports), ``staff`` (staff accounts)."""
