-- The first agent to claim an hour samples it; the others find it taken.
INSERT INTO storage_samples (hour_ms, sampled_at_ms) VALUES ($1, $2) ON CONFLICT (hour_ms) DO NOTHING
