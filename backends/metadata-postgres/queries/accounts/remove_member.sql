DELETE FROM members WHERE tenant = $1 AND user_id = $2
