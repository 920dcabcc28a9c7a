"""The auditor workbench's web side: its pages under /review (``pages``), their Jinja templates
and local scripts (``templates/``, ``static/``), the zh/en texts (``i18n``), sign-in sessions
(``review_auth``) and the sign-in failure limit (``rate_limit``)."""
