//! Mapping of the `object_store` crate's error variants onto the core error kinds, for what
//! every store of that crate reports the same way; a backend handles its own `Generic`
//! errors before falling back to this.

use streamhouse_core::ObjectStoreError;

/// The kind of an `object_store` error by its variant. `Generic` errors, whose meaning
/// depends on the store (an I/O error of the local store, an HTTP failure of a cloud one),
/// are `Other` here.
pub fn map_common(e: object_store::Error) -> ObjectStoreError {
    use object_store::Error as E;
    match e {
        E::NotFound { path, .. } => ObjectStoreError::NotFound(path),
        E::AlreadyExists { path, .. } => ObjectStoreError::AlreadyExists(path),
        E::Precondition { path, .. } | E::NotModified { path, .. } => {
            ObjectStoreError::Precondition(path)
        }
        E::InvalidPath { source } => ObjectStoreError::InvalidInput(source.to_string()),
        e @ E::UnknownConfigurationKey { .. } => ObjectStoreError::InvalidInput(e.to_string()),
        E::NotSupported { source } => ObjectStoreError::NotSupported(source.to_string()),
        E::NotImplemented => ObjectStoreError::NotSupported("not implemented".into()),
        // A blocking task of the local store was cancelled or panicked: a retry may pass.
        e @ E::JoinError { .. } => ObjectStoreError::unavailable_from("object store task", e),
        e => ObjectStoreError::other_from("object store", e),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use object_store::Error as E;
    use rstest::rstest;

    use super::*;

    fn io() -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(std::io::Error::other("disk"))
    }

    #[rstest]
    #[case::not_found(E::NotFound { path: "a".into(), source: io() }, "NotFound", false)]
    #[case::already_exists(E::AlreadyExists { path: "a".into(), source: io() }, "AlreadyExists", false)]
    #[case::precondition(E::Precondition { path: "a".into(), source: io() }, "Precondition", false)]
    #[case::not_modified(E::NotModified { path: "a".into(), source: io() }, "Precondition", false)]
    #[case::not_implemented(E::NotImplemented, "NotSupported", false)]
    #[case::unknown_key(E::UnknownConfigurationKey { store: "x", key: "k".into() }, "InvalidInput", false)]
    #[case::permission_denied(E::PermissionDenied { path: "a".into(), source: io() }, "Other", false)]
    #[case::unauthenticated(E::Unauthenticated { path: "a".into(), source: io() }, "Other", false)]
    #[case::generic(E::Generic { store: "LocalFileSystem", source: io() }, "Other", false)]
    fn variants_map_to_kinds(#[case] e: E, #[case] kind: &str, #[case] retriable: bool) {
        let m = map_common(e);
        assert!(format!("{m:?}").starts_with(kind), "{m:?}");
        assert_eq!(m.is_retriable(), retriable, "{m:?}");
    }

    #[test]
    fn other_errors_keep_their_source() {
        let m = map_common(E::Generic {
            store: "LocalFileSystem",
            source: io(),
        });
        assert!(m.source().is_some(), "{m:?}");
        assert!(m.to_string().contains("disk"), "{m}");
    }
}
