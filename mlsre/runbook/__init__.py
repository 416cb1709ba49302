"""Runbooks as code: the file format, discovery, validation and the engine that runs them."""
