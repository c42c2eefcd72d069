//! StreamHouse's own migrator: the embedded migrations (`migrations/`), applied in one
//! transaction under a transaction-level advisory lock, so agents starting together take
//! turns and a failure leaves the schema as it was.
//!
//! Not sqlx's migrator: its bookkeeping uses named prepared statements and a session-level
//! advisory lock, neither of which survives a transaction pooler. Everything here is unnamed
//! statements or simple-protocol SQL inside one transaction, which PgBouncer keeps on one
//! server connection.

use sqlx::Executor;
use sqlx::postgres::{PgConnection, PgPool};
use streamhouse_core::registry::BuildError;
use tracing::info;

/// One embedded migration: version, description, SQL, checksum.
type Migration = (i64, String, String, Vec<u8>);

/// Applies the embedded migrations that are not applied yet.
pub(crate) async fn migrate(pool: &PgPool) -> Result<(), BuildError> {
    let migrations: Vec<Migration> = sqlx::migrate!("./migrations")
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| {
            (
                m.version,
                m.description.to_string(),
                m.sql.to_string(),
                m.checksum.to_vec(),
            )
        })
        .collect();
    let fail = |e: sqlx::Error| BuildError(format!("cannot migrate the metadata database: {e}"));
    let mut conn = pool.acquire().await.map_err(fail)?;
    let c: &mut PgConnection = &mut conn;
    // Arguments-free statements go out in the simple protocol: nothing is prepared.
    c.execute("BEGIN").await.map_err(fail)?;
    let result = apply(c, &migrations).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    c.execute(end).await.map_err(fail)?;
    let ran = result.map_err(fail)?;
    info!(applied = ran, "metadata schema is up to date");
    Ok(())
}

/// The body of [`migrate`], inside its transaction.
async fn apply(c: &mut PgConnection, migrations: &[Migration]) -> Result<usize, sqlx::Error> {
    c.execute(include_str!("../queries/migrate/lock.sql"))
        .await?;
    c.execute(include_str!("../queries/migrate/create_table.sql"))
        .await?;
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as(include_str!("../queries/migrate/applied.sql"))
            .persistent(false)
            .fetch_all(&mut *c)
            .await?;
    let mut ran = 0;
    for (version, description, sql, checksum) in migrations {
        if let Some((_, done)) = applied.iter().find(|(v, _)| v == version) {
            if done != checksum {
                return Err(sqlx::Error::Protocol(format!(
                    "migration {version} ({description}) differs from the one applied to this \
                     database"
                )));
            }
            continue;
        }
        c.execute(sql.as_str()).await?;
        sqlx::query(include_str!("../queries/migrate/record.sql"))
            .persistent(false)
            .bind(version)
            .bind(description)
            .bind(checksum)
            .execute(&mut *c)
            .await?;
        ran += 1;
    }
    Ok(ran)
}
