SELECT id, email, password_hash, operator, created_at_ms FROM users WHERE email = ?1
