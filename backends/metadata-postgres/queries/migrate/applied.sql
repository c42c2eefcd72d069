SELECT version, checksum FROM streamhouse_migrations
