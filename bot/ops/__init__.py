"""Operations: Prometheus metrics and the health, readiness and metrics endpoints."""
