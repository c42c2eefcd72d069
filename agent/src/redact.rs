//! Keeping secrets out of what the agent prints: `--print-config` shows every setting but
//! the secrets (passwords in URLs, the cluster secret, storage access keys).

/// Keys whose values are secrets, in any section.
const SECRET_KEYS: &[&str] = &["cluster_secret", "access_key", "password"];

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// `url` with its password, if it has one, replaced by [`REDACTED`].
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The userinfo ends at the last '@' before the path.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{REDACTED}{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Replaces every secret in a configuration tree: values of [`SECRET_KEYS`] and passwords
/// in URLs.
pub fn redact_config(value: &mut toml::Value) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                match v {
                    toml::Value::String(s)
                        if SECRET_KEYS.contains(&k.as_str()) && !s.is_empty() =>
                    {
                        *s = REDACTED.to_owned();
                    }
                    toml::Value::String(s) => *s = redact_url(s),
                    other => redact_config(other),
                }
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(redact_config),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_redacted_and_nothing_else_changes() {
        for (url, want) in [
            (
                "postgres://app:s3cr%40t@db:5432/streamhouse?sslmode=verify-full",
                "postgres://app:<redacted>@db:5432/streamhouse?sslmode=verify-full",
            ),
            (
                "postgres://app@db/streamhouse",
                "postgres://app@db/streamhouse",
            ),
            ("postgres://db/x?user=a@b", "postgres://db/x?user=a@b"),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), want);
        }
    }

    #[test]
    fn secret_keys_are_redacted_in_every_section() {
        let mut v: toml::Value = toml::from_str(
            r#"
            [auth]
            cluster_secret = "abc"
            cluster_secret_file = "/etc/secret"
            [metadata]
            url = "postgres://u:pw@h/d"
            [object_store]
            access_key = "key"
            bucket = "b"
            "#,
        )
        .unwrap();
        redact_config(&mut v);
        let out = toml::to_string(&v).unwrap();
        for secret in ["abc", ":pw@", "\"key\""] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(
            out.contains("/etc/secret") && out.contains("bucket = \"b\""),
            "{out}"
        );
    }
}
