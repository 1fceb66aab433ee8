//! First run: while no active administrator exists, `afisha serve` prints a
//! one-time link `<public_url>/setup?token=…`; the web UI's setup page uses
//! it to create the first administrator.
//!
//! The token is kept in the database as its SHA-256 (`setup_token`), so a
//! link printed by one instance works through any instance on the same
//! database. Every instance that starts without an administrator prints a
//! link of its own and each stays valid until the first administrator is
//! created (which deletes them all) or an administrator exists by other
//! means (the next start deletes them).

use rand::RngCore;

use crate::domain::account::{Account, messages as m};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::user::Role;
use crate::secrets::{constant_time_eq, token_digest};
use crate::service::Services;
use crate::service::accounts::insert_account;
use crate::service::audit::{self, Action, Actor, Changes, Target};

async fn admins_exist(svc: &Services) -> DomainResult<bool> {
    Ok(!svc.store.read(|tx| tx.active_admin_ids()).await?.is_empty())
}

fn among(digests: &[String], digest: &str) -> bool {
    // Every digest compared, in time independent of where they differ.
    digests.iter().fold(false, |hit, d| {
        constant_time_eq(d.as_bytes(), digest.as_bytes()) | hit
    })
}

/// Whether `digest` may complete the setup, given the pending digests.
fn verdict(pending: &[String], digest: &str) -> DomainResult<()> {
    if pending.is_empty() {
        Err(DomainError::rule(m::SETUP_COMPLETED))
    } else if among(pending, digest) {
        Ok(())
    } else {
        Err(DomainError::rule(m::INVALID_SETUP_TOKEN))
    }
}

/// When no active administrator exists, issues a fresh setup token and
/// returns the setup URL; otherwise voids every pending token and returns
/// `None`.
pub async fn prepare(svc: &Services) -> DomainResult<Option<String>> {
    if admins_exist(svc).await? {
        svc.store
            .write(|tx| tx.take_setup_tokens().map(drop))
            .await?;
        return Ok(None);
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let digest = token_digest(&token);
    let now = svc.now();
    svc.store
        .write(move |tx| tx.insert_setup_token(&digest, now))
        .await?;
    Ok(Some(format!(
        "{}/setup?token={token}",
        svc.config.public_url()
    )))
}

/// Whether the first administrator still has to be created with a pending
/// setup link.
pub async fn required(svc: &Services) -> DomainResult<bool> {
    svc.store
        .read(|tx| Ok(tx.active_admin_ids()?.is_empty() && !tx.setup_tokens()?.is_empty()))
        .await
}

/// Creates the first administrator with a one-time token. A wrong token is
/// `"Invalid setup token"` while one is pending, `"Setup already completed"`
/// after; a failed attempt (e.g. the email is taken) leaves the link usable.
pub async fn complete(
    svc: &Services,
    token: String,
    email: String,
    full_name: String,
    password: String,
    client: Option<std::net::IpAddr>,
) -> DomainResult<Account> {
    let digest = token_digest(&token);
    // Checked before hashing, so wrong tokens cost no Argon2 run.
    let pending = svc.store.read(|tx| tx.setup_tokens()).await?;
    verdict(&pending, &digest)?;
    let hash = svc.passwords.hash(password).await?;
    let now = svc.now();
    let inner = svc.clone();
    svc.store
        .write(move |tx| {
            // Taking every token makes concurrent completions (through any
            // instance) take turns: the later one finds none. Any error
            // below rolls back, so the links stay usable.
            verdict(&tx.take_setup_tokens()?, &digest)?;
            if !tx.active_admin_ids()?.is_empty() {
                return Err(DomainError::rule(m::SETUP_COMPLETED));
            }
            let account = insert_account(tx, &email, &full_name, &hash, Role::Administrator, now)?;
            let actor = Actor::user(account.id, &account.email, client);
            let changes = Changes::none().with("role", None::<Role>, Role::Administrator);
            let target = Target::user(account.id);
            audit::record(&inner, tx, &actor, Action::SetupCompleted, target, changes)?;
            Ok(account)
        })
        .await
}
