//! First run: while no active administrator exists, `afisha serve` prints a
//! one-time link `<public_url>/setup?token=…`; the web UI's setup page uses
//! it to create the first administrator. The token lives in memory only and
//! is valid until used or until an administrator exists by any means.

use rand::RngCore;

use crate::domain::account::{Account, messages as m};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::user::Role;
use crate::secrets::constant_time_eq;
use crate::service::Services;
use crate::service::accounts::insert_account;

fn slot(svc: &Services) -> std::sync::MutexGuard<'_, Option<String>> {
    svc.volatile
        .setup_token
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

async fn admins_exist(svc: &Services) -> DomainResult<bool> {
    Ok(!svc.store.read(|tx| tx.active_admin_ids()).await?.is_empty())
}

/// When no active administrator exists, issues a fresh setup token and
/// returns the setup URL; otherwise voids any token and returns `None`.
pub async fn prepare(svc: &Services) -> DomainResult<Option<String>> {
    if admins_exist(svc).await? {
        *slot(svc) = None;
        return Ok(None);
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    *slot(svc) = Some(token.clone());
    Ok(Some(format!(
        "{}/setup?token={token}",
        svc.config.public_url()
    )))
}

/// Whether the first administrator still has to be created with a pending
/// setup link.
pub async fn required(svc: &Services) -> DomainResult<bool> {
    Ok(!admins_exist(svc).await? && slot(svc).is_some())
}

/// Creates the first administrator with the one-time token. A wrong token is
/// `"Invalid setup token"` while one is pending, `"Setup already completed"`
/// after; a failed attempt (e.g. the email is taken) leaves the link usable.
pub async fn complete(
    svc: &Services,
    token: String,
    email: String,
    full_name: String,
    password: String,
) -> DomainResult<Account> {
    {
        let mut pending = slot(svc);
        match pending.as_deref() {
            Some(t) if constant_time_eq(t.as_bytes(), token.as_bytes()) => *pending = None,
            Some(_) => return Err(DomainError::rule(m::INVALID_SETUP_TOKEN)),
            None => return Err(DomainError::rule(m::SETUP_COMPLETED)),
        }
    }
    let result = async {
        let hash = svc.passwords.hash(password).await?;
        let now = svc.now();
        svc.store
            .write(move |tx| {
                if !tx.active_admin_ids()?.is_empty() {
                    return Err(DomainError::rule(m::SETUP_COMPLETED));
                }
                insert_account(tx, &email, &full_name, &hash, Role::Administrator, now)
            })
            .await
    }
    .await;
    if let Err(e) = &result
        && !matches!(e, DomainError::Rule(message) if message == m::SETUP_COMPLETED)
    {
        *slot(svc) = Some(token);
    }
    result
}
