//! `STREAMHOUSE_<SECTION>__<KEY>` environment variables as a figment provider.

use figment::value::{Dict, Value};

/// Configuration from environment variables, named as such in error messages.
pub(super) struct EnvVars {
    name: String,
    data: Dict,
}

impl EnvVars {
    /// Every `STREAMHOUSE_<SECTION>__<KEY>` variable but those of the `foreign` sections
    /// (another binary's, when both read one environment). Variables without `__` (such as
    /// the CLI's `STREAMHOUSE_ADDR`) are not configuration and are left alone.
    pub(super) fn new(env: &[(String, String)], foreign: &[&str]) -> Self {
        let mut data = Dict::new();
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("STREAMHOUSE_") else {
                continue;
            };
            let Some((section, key)) = rest.split_once("__") else {
                continue;
            };
            if foreign.contains(&section.to_ascii_lowercase().as_str()) {
                continue;
            }
            insert(
                &mut data,
                &[&section.to_ascii_lowercase(), &key.to_ascii_lowercase()],
                v,
            );
        }
        Self {
            name: "STREAMHOUSE_<SECTION>__<KEY> environment variables".into(),
            data,
        }
    }

    /// One deployment-plan variable setting the dotted `key`.
    pub(super) fn one(var: &str, key: &str, value: &str) -> Self {
        let mut data = Dict::new();
        insert(&mut data, &key.split('.').collect::<Vec<_>>(), value);
        Self {
            name: format!("environment variable {var}"),
            data,
        }
    }
}

/// Sets `path` in a nested dictionary to a string value.
fn insert(d: &mut Dict, path: &[&str], value: &str) {
    let v = Value::from(value.to_owned());
    match path {
        [] => {}
        [last] => {
            d.insert((*last).to_owned(), v);
        }
        [first, rest @ ..] => {
            let entry = d
                .entry((*first).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

impl figment::Provider for EnvVars {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, Dict>, figment::Error> {
        Ok(figment::Profile::Default.collect(self.data.clone()))
    }
}
