-- Renewal and release find an agent's leases by holder, in one statement.
CREATE INDEX leases_by_holder ON leases (holder);
