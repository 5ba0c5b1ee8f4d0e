//! Back-channel logout tokens already acted on, by `jti`, in the database (so every instance
//! sharing it sees them): a replayed token is refused. Each is kept until it could no longer be
//! accepted anyway; expired ones are removed as new ones arrive.

use crate::on_db;
use crate::server::storage::db::Db;

/// Records `jti` as used until `expires_at`. `Ok(false)`: it was used before (a replay).
pub async fn first_use(db: &Db, jti: &str, expires_at: i64, now: i64) -> Result<bool, sqlx::Error> {
    let inserted = on_db!(db, |pool| {
        sqlx::query("DELETE FROM logout_tokens_seen WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO logout_tokens_seen (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(inserted == 1)
}

/// Forgets `jti` (the logout it carried could not be carried out, so the IdP's retry must be
/// accepted).
pub async fn forget(db: &Db, jti: &str) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| {
        sqlx::query("DELETE FROM logout_tokens_seen WHERE jti = $1")
            .bind(jti)
            .execute(pool)
            .await
            .map(drop)
    })
}
