"""Operations: the health model every part reports into (metrics and /healthz build on it)."""
