INSERT INTO users (id, email, password_hash, operator, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
