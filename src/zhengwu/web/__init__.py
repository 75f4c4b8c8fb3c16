"""The HTTP channel: FastAPI app (``app.create_app``) and the embeddable web chat widget (``static/``)."""
