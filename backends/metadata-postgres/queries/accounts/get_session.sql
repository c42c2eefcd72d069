SELECT token_hash, user_id, csrf_token, created_at_ms, expires_at_ms FROM sessions WHERE token_hash = $1
