//! Plans and their limits: the deployment plan's tiers.

use std::fmt;
use std::str::FromStr;

use crate::types::ValidationError;

/// A tenant's plan: the tiers of the deployment plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    /// $49 a month: 10 GB ingress, 100 GB stored.
    Starter,
    /// $199 a month: 100 GB ingress, 1 TB stored.
    Growth,
    /// $499 a month: 500 GB ingress, 5 TB stored.
    Business,
    /// Custom terms, no fixed limits.
    Enterprise,
}

impl Plan {
    /// Every plan, cheapest first.
    pub const ALL: [Plan; 4] = [
        Plan::Starter,
        Plan::Growth,
        Plan::Business,
        Plan::Enterprise,
    ];

    /// The plan's name, as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Starter => "starter",
            Plan::Growth => "growth",
            Plan::Business => "business",
            Plan::Enterprise => "enterprise",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Plan {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                ValidationError(format!(
                    "unknown plan {s:?}: use starter, growth, business or enterprise"
                ))
            })
    }
}

/// What a plan allows a tenant. `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Bytes of records produced per calendar month (UTC).
    pub ingress_bytes_per_month: Option<u64>,
    /// Bytes stored at any time (every object of the tenant, as written).
    pub storage_bytes: Option<u64>,
    /// Bytes of records produced per second, over all agents.
    pub produce_bytes_per_sec: Option<u64>,
    /// Requests per second, over all agents.
    pub requests_per_sec: Option<u64>,
    /// Bytes fetched per second, over all agents; reads above it are slowed, not refused.
    pub fetch_bytes_per_sec: Option<u64>,
}

const GB: u64 = 1_000_000_000;
const MIB: u64 = 1 << 20;

impl Plan {
    /// The plan's monthly price in US cents; `None` for custom terms.
    pub fn monthly_price_cents(self) -> Option<u64> {
        match self {
            Plan::Starter => Some(4_900),
            Plan::Growth => Some(19_900),
            Plan::Business => Some(49_900),
            Plan::Enterprise => None,
        }
    }

    /// The plan's limits: ingress and storage from the price list; rates sized so that a
    /// month at the full produce rate is many times the monthly ingress (bursts are the
    /// point of a rate, the month is the budget).
    pub fn limits(self) -> PlanLimits {
        let l = |ingress_gb: u64, storage_gb: u64, mib_per_sec: u64, requests: u64| PlanLimits {
            ingress_bytes_per_month: Some(ingress_gb * GB),
            storage_bytes: Some(storage_gb * GB),
            produce_bytes_per_sec: Some(mib_per_sec * MIB),
            requests_per_sec: Some(requests),
            fetch_bytes_per_sec: Some(2 * mib_per_sec * MIB),
        };
        match self {
            Plan::Starter => l(10, 100, 5, 500),
            Plan::Growth => l(100, 1000, 25, 2_500),
            Plan::Business => l(500, 5000, 100, 10_000),
            Plan::Enterprise => PlanLimits {
                ingress_bytes_per_month: None,
                storage_bytes: None,
                produce_bytes_per_sec: None,
                requests_per_sec: None,
                fetch_bytes_per_sec: None,
            },
        }
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month) to days since 1970-01-01 of its first day (`days_from_civil`).
fn days(y: i64, m: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC month of `ms` (since the epoch) as `YYYY-MM`: the period monthly quotas count.
pub fn month_of(ms: i64) -> String {
    let (y, m, _) = civil(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}")
}

/// When the UTC month holding `ms` starts, in ms since the epoch.
pub fn month_start_ms(ms: i64) -> i64 {
    let (y, m, _) = civil(ms.div_euclid(86_400_000));
    days(y, m) * 86_400_000
}

/// When the month after the one holding `ms` starts, in ms since the epoch: when a monthly
/// quota resets.
pub fn next_month_start_ms(ms: i64) -> i64 {
    let (y, m, _) = civil(ms.div_euclid(86_400_000));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days(y, m) * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_their_ends() {
        // 2026-12-02T05:00:00Z
        let now = 1_796_187_600_000;
        assert_eq!(month_of(now), "2026-12");
        // 2027-01-01T00:00:00Z
        assert_eq!(next_month_start_ms(now), 1_798_761_600_000);
        assert_eq!(month_of(next_month_start_ms(now)), "2027-01");
        assert_eq!(month_of(next_month_start_ms(now) - 1), "2026-12");
        assert_eq!(month_of(0), "1970-01");
        // 2026-12-01T00:00:00Z
        assert_eq!(month_start_ms(now), 1_796_083_200_000);
        assert_eq!(month_start_ms(1_796_083_200_000), 1_796_083_200_000);
        // 2024-02-29 (leap day) is in February; March starts the day after.
        assert_eq!(month_of(1_709_164_800_000), "2024-02");
        assert_eq!(next_month_start_ms(1_709_164_800_000), 1_709_251_200_000);
    }

    #[test]
    fn the_price_list() {
        assert_eq!(
            Plan::Starter.limits().ingress_bytes_per_month,
            Some(10 * GB)
        );
        assert_eq!(Plan::Growth.limits().storage_bytes, Some(1000 * GB));
        assert_eq!(Plan::Business.limits().storage_bytes, Some(5000 * GB));
        assert_eq!(Plan::Enterprise.limits().requests_per_sec, None);
    }
}
