DELETE FROM agents WHERE holder = $1
