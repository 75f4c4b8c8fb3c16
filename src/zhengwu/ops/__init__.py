"""What operators run and watch: structured logs and metrics (``observability``), backup and restore."""
