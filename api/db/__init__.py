"""The database: engine and sessions (``engine``), tables (``models``), migrations, bulk I/O
(``bulk``) and every query (``repository``, by aggregate)."""
