DELETE FROM sessions WHERE expires_at_ms <= $1
