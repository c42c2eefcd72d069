//! Conformance suites, written once and run by every backend against its real service.
//!
//! A backend's test file invokes [`object_store_conformance!`](crate::object_store_conformance)
//! or [`metadata_conformance!`](crate::metadata_conformance) with an async expression that
//! yields `(backend, guard)`; the guard (a temp dir, a database) lives as long as the test.
//! Each case becomes its own `#[tokio::test]`, so a failure names the case and the backend.

pub mod accounts;
pub mod cluster;
pub mod lease;
pub mod lifecycle;
pub mod metadata;
pub mod object;
pub mod tenancy;

/// Generates one test per object-store case. `$make` yields `(Arc<dyn ObjectStore>, guard)`.
#[macro_export]
macro_rules! object_store_conformance {
    ($make:expr) => {
        $crate::__conformance_cases!(
            object,
            $make,
            [
                put_get_round_trip,
                create_mode_refuses_to_overwrite,
                missing_objects_are_not_found,
                range_reads,
                list_by_prefix,
                delete_is_idempotent,
                large_objects,
                concurrent_creates_have_one_winner,
            ]
        );
    };
}

/// Generates one test per metadata and lease case. `$make` yields `(MetadataParts, guard)`.
#[macro_export]
macro_rules! metadata_conformance {
    ($make:expr) => {
        $crate::__conformance_cases!(
            metadata,
            $make,
            [
                topics_create_get_list_delete,
                tenants_are_isolated,
                commit_requires_the_lease,
                commit_under_a_lapsed_lease_is_fenced,
                zombie_commit_is_fenced_and_changes_nothing,
                commit_with_a_gap_conflicts,
                commit_many_batches_and_partitions,
                group_commit_is_all_or_nothing,
                lookup_finds_the_containing_batch,
                recreated_topic_starts_empty,
                consumer_offsets,
            ]
        );
        $crate::__conformance_cases!(
            lifecycle,
            $make,
            [
                retention_expires_a_prefix_and_frees_objects,
                retention_by_size_keeps_the_newest_bytes,
                topic_settings_are_created_and_altered,
                orphans_are_claimed_only_when_unknown_and_old,
                compaction_swaps_rows_under_the_job_lease,
                metadata_is_restored_under_its_ids,
            ]
        );
        $crate::__conformance_cases!(
            lease,
            $make,
            [
                acquire_renew_release,
                epoch_changes_only_with_the_holder,
                expired_lease_moves_and_old_holder_loses_it,
                concurrent_acquires_have_one_winner,
                renew_all_and_release_all_cover_one_holder,
            ]
        );
        $crate::__conformance_cases!(
            cluster,
            $make,
            [
                heartbeats_register_and_leave_removes,
                silent_agents_expire,
                tenant_groups,
            ]
        );
        $crate::__conformance_cases!(
            tenancy,
            $make,
            [
                tenants_create_get_list,
                api_keys_create_get_list_revoke,
                key_use_is_recorded_forward_only,
                audit_log_newest_first,
                usage_adds_up_per_tenant_and_month,
            ]
        );
        $crate::__conformance_cases!(
            accounts,
            $make,
            [
                organizations_and_members,
                sessions_begin_and_end,
                control_plane_reads,
                usage_is_metered_per_hour_and_day,
                billing_ledger_accounts_and_invoices,
            ]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($suite:ident, $make:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (backend, _guard) = $make.await;
                $crate::conformance::$suite::$case(&backend).await;
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    /// Every public case of a suite is listed in its macro, so none silently never runs.
    #[test]
    fn every_case_is_generated_by_its_macro() {
        let macros = include_str!("mod.rs");
        for (suite, src) in [
            ("object", include_str!("object.rs")),
            ("metadata", include_str!("metadata.rs")),
            ("lifecycle", include_str!("lifecycle.rs")),
            ("lease", include_str!("lease.rs")),
            ("cluster", include_str!("cluster.rs")),
            ("tenancy", include_str!("tenancy.rs")),
            ("accounts", include_str!("accounts.rs")),
        ] {
            for line in src.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    let name = rest.split('(').next().unwrap();
                    assert!(
                        macros.contains(&format!("{name},")),
                        "conformance case {suite}::{name} is not in its macro"
                    );
                }
            }
        }
    }
}
