"""The service's rules: uploads, linking, persons, reviews, retraining and the workbench's
views. Called by routes and commands; no FastAPI here (errors are ``errors`` kinds, mapped
to HTTP in ``api.main``)."""
