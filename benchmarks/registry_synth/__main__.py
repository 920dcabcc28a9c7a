"""Entry point for python -m benchmarks.registry_synth."""

from .cli import main

raise SystemExit(main())
