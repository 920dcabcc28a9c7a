"""vaxlink matching core: pure functions over pandas frames, no web or database imports."""
