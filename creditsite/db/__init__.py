"""The project's database backend (ENGINE "creditsite.db"): Django's PostgreSQL backend with a cheaper health check."""
