//! The schema: sqlx's migrator over the embedded `migrations/`. One process opens a database
//! (the lock file), so nothing has to take turns as on PostgreSQL.

use std::path::Path;

use sqlx::sqlite::SqlitePool;
use streamhouse_core::registry::BuildError;

/// Applies the migrations the database at `path` does not have yet.
pub(crate) async fn migrate(pool: &SqlitePool, path: &Path) -> Result<(), BuildError> {
    sqlx::migrate!("./migrations").run(pool).await.map_err(|e| {
        BuildError(format!(
            "cannot migrate SQLite database {}: {e}",
            path.display()
        ))
    })
}
