//! `streamhouse-agent rebuild-metadata` and `streamhouse-agent objects`: the bucket against
//! the metadata store, from the command line.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use streamhouse_core::config::Config;
use streamhouse_core::lifecycle::parse_object_key;
use streamhouse_core::registry;
use streamhouse_core::{MetadataStore, ObjectStore};

async fn stores(config: &Config) -> anyhow::Result<(Arc<dyn MetadataStore>, Arc<dyn ObjectStore>)> {
    crate::backends::link();
    let store = registry::admin_metadata(config.metadata.clone())
        .await
        .context("metadata store")?
        .store;
    let objects = registry::build_object_store(config.object_store.clone())
        .await
        .context("object store")?;
    Ok((store, objects))
}

/// Migrates the (empty) metadata store, rebuilds it from the bucket and prints what it
/// restored; with `dry_run`, prints what it would restore and writes nothing.
pub async fn rebuild(config: &Config, dry_run: bool) -> anyhow::Result<()> {
    crate::backends::link();
    if !dry_run {
        registry::migrate_metadata(config.metadata.clone())
            .await
            .context("migrate")?;
    }
    let (store, objects) = stores(config).await?;
    let report = super::rebuild_metadata(&*store, &*objects, dry_run).await?;
    println!("{report}");
    Ok(())
}

/// Prints the record objects in the bucket by what the metadata store knows of them, then
/// each topic's stored bytes, objects, index rows and compaction backlog.
pub async fn objects(config: &Config) -> anyhow::Result<()> {
    let (store, objects) = stores(config).await?;
    let known: HashMap<String, bool> = store.known_objects().await?.into_iter().collect();
    let (mut total, mut bytes, mut referenced, mut unreferenced, mut unknown) = (0, 0, 0, 0, 0);
    for meta in objects.list(Some("tenants")).await? {
        if parse_object_key(meta.key.as_str()).is_none() {
            continue;
        }
        total += 1;
        bytes += meta.size;
        match known.get(meta.key.as_str()) {
            Some(true) => referenced += 1,
            Some(false) => unreferenced += 1,
            None => unknown += 1,
        }
    }
    println!("objects {total}");
    println!("bytes {bytes}");
    println!("referenced {referenced}");
    println!("unreferenced {unreferenced}");
    println!("unknown {unknown}");
    for t in store.storage_stats().await? {
        println!(
            "topic {}/{} bytes={} objects={} batches={} backlog_objects={} backlog_bytes={}",
            t.tenant, t.topic, t.bytes, t.objects, t.batches, t.backlog_objects, t.backlog_bytes
        );
    }
    Ok(())
}
