"""vaxlink edges: command line, HTTP service, database, auditor pages."""
