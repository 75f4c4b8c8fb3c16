"""The staff review console under ``/console``: server-rendered pages over the review store."""
