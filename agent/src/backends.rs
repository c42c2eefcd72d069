//! The backend crates this binary is built with. `inventory` only sees crates that are
//! linked, so each enabled backend crate is referenced here.

/// Links every enabled backend crate into the binary; call before using the registry.
pub fn link() {
    #[cfg(feature = "metadata-sqlite")]
    {
        use streamhouse_metadata_sqlite as _;
    }
    #[cfg(feature = "metadata-postgres")]
    {
        use streamhouse_metadata_postgres as _;
    }
    #[cfg(feature = "object-local")]
    {
        use streamhouse_object_local as _;
    }
    #[cfg(feature = "object-s3")]
    {
        use streamhouse_object_s3 as _;
    }
    #[cfg(feature = "object-gcs")]
    {
        use streamhouse_object_gcs as _;
    }
    #[cfg(feature = "object-azure")]
    {
        use streamhouse_object_azure as _;
    }
}

#[cfg(test)]
mod tests {
    use streamhouse_core::registry::{
        METADATA_KINDS, OBJECT_STORE_KINDS, metadata_kinds, object_store_kinds,
    };

    /// With default features every known backend kind is registered: none can silently drop
    /// out of the binary.
    #[test]
    #[cfg(all(
        feature = "metadata-sqlite",
        feature = "metadata-postgres",
        feature = "object-local",
        feature = "object-s3",
        feature = "object-gcs",
        feature = "object-azure"
    ))]
    fn every_backend_kind_is_registered() {
        super::link();
        let mut want: Vec<_> = METADATA_KINDS.iter().map(|(k, _)| *k).collect();
        want.sort_unstable();
        assert_eq!(metadata_kinds(), want);
        let mut want: Vec<_> = OBJECT_STORE_KINDS.iter().map(|(k, _)| *k).collect();
        want.sort_unstable();
        assert_eq!(object_store_kinds(), want);
    }
}
