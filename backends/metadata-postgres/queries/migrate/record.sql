INSERT INTO streamhouse_migrations (version, description, checksum) VALUES ($1, $2, $3)
