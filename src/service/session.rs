//! Login sessions as rows: issuing one (its token is shown once; only the
//! digest is stored). Shared by every way of signing in.

use rand::RngCore;
use uuid::Uuid;

use crate::domain::error::DomainResult;
use crate::domain::time::Ts;
use crate::secrets::token_digest;
use crate::store::Tx;

/// A freshly issued login session: the two header values.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub uid: Uuid,
    pub token: String,
}

/// Inserts a session for `user_id` in `tx`; the token is 32 random bytes,
/// hex, and only its digest is stored.
pub(crate) fn insert_session(
    tx: &mut dyn Tx,
    user_id: i64,
    user_agent: Option<&str>,
    now: Ts,
) -> DomainResult<NewSession> {
    let uid = Uuid::new_v4();
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let user_agent = user_agent.map(|ua| ua.chars().take(512).collect::<String>());
    tx.insert_session(
        uid,
        user_id,
        &token_digest(&token),
        user_agent.as_deref(),
        now,
    )?;
    Ok(NewSession { uid, token })
}
