SELECT partitions FROM topics WHERE id = $1
