"""Pydantic bodies: ``v1`` of the /v1 API (``…Create`` in, ``…Public`` out), ``review`` of the
workbench JSON endpoints (``/review/api/...``)."""
