//! Login sessions as handlers see them. Creation, lookup and revocation are
//! use cases in `service::accounts`; tokens are stored only as digests.

use rusqlite::{Connection, params};
use uuid::Uuid;

pub use crate::domain::account::SessionUser;
use crate::http::error::AppResult;

/// Revokes every session of a user, optionally keeping one.
/// TODO(layers): for the users routes not yet on a service; the accounts
/// services use `AccountStore::delete_sessions_of`.
pub fn revoke_all(conn: &Connection, user_id: i64, keep: Option<Uuid>) -> AppResult<usize> {
    let keep = keep.map(|u| u.to_string()).unwrap_or_default();
    Ok(conn.execute(
        "DELETE FROM login_session WHERE user_id = ?1 AND uid <> ?2",
        params![user_id, keep],
    )?)
}
