UPDATE tenants SET name = ?2, plan = ?3, status = ?4 WHERE id = ?1
