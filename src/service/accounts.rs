//! Use cases of the accounts area: registration with an emailed code, login
//! sessions, password recovery and change, creating users (CLI, setup) and
//! recognising the caller of a request.
//!
//! Secrets at rest: the registration code is stored sealed with the data
//! dir's key (it must be sent again unchanged), session and recovery tokens
//! only as digests. Argon2 always runs before a write transaction starts,
//! never inside one.

use std::net::IpAddr;
use std::sync::Mutex;

use rand::Rng;
use uuid::Uuid;

use crate::directory::Verdict;
use crate::domain::account::{
    self, Account, MAX_CODE_FAILURES, SessionUser, email_key, messages as m, session_alive,
    session_young, token_expired,
};
use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::notice::{Notice, To};
use crate::domain::time::Ts;
use crate::domain::user::{IdentityProvider, Role};
use crate::secrets::{constant_time_eq, token_digest};
use crate::service::audit::{self, Action, Actor, Changes, Target, TargetType};
pub use crate::service::session::NewSession;
use crate::service::session::insert_session;
use crate::service::{Services, external, limits, outbox};
use crate::store::Tx;
use crate::store::accounts::{NewRegistration, NewUser, Recovery, SessionInfo};

/// What the accounts area keeps in memory only, never on disk.
#[derive(Default)]
pub struct Volatile {
    /// The newest recovery token issued by this process; kept only when
    /// `server.debug` is on, for `GET /debug/intercept-recovery-token`.
    /// Per instance by design: a debug aid for tests on one instance (the
    /// database keeps only the token's digest).
    newest_recovery: Mutex<Option<Uuid>>,
}

impl std::fmt::Debug for Volatile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Volatile(..)")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registration and recovery exist only while password sign-in is on
/// (`auth.password_login`).
fn password_routes_open(svc: &Services) -> DomainResult<()> {
    if svc.config.auth.password_login {
        Ok(())
    } else {
        Err(DomainError::Forbidden(m::PASSWORD_LOGIN_DISABLED.into()))
    }
}

/// Counts an attempt on a backoff key (API.md rate limits).
async fn limited(
    svc: &Services,
    kind: &str,
    email: &str,
    message: &'static str,
) -> DomainResult<()> {
    limits::attempt(svc, &format!("{kind}:{}", email_key(email)))
        .await?
        .map_err(|secs| DomainError::rate_limited(message, secs))
}

fn invalid_code() -> DomainError {
    DomainError::rule(m::INVALID_CODE)
}

/// Inserts a user with an already hashed password; `"Email already exists"`
/// when the address is taken (any case, deleted users included).
pub(crate) fn insert_account(
    tx: &mut dyn Tx,
    email: &str,
    full_name: &str,
    password_hash: &str,
    role: Role,
    now: Ts,
) -> DomainResult<Account> {
    if tx.email_taken(email)? {
        return Err(DomainError::rule(messages::EMAIL_EXISTS));
    }
    let id = tx.insert_user(&NewUser {
        email,
        full_name,
        password_hash,
        role,
        now,
    })?;
    Ok(Account {
        id,
        email: email.trim().to_string(),
        full_name: full_name.to_string(),
        role,
        created_at: now,
    })
}

// ---------------------------------------------------------------- registration

/// Starts a registration: stores it with a fresh token and a sealed 6-digit
/// code and emails the code (REG_CONFIRM_CODE). Returns the token.
///
/// The rate limit comes first, before "Email already exists", so the
/// answer cannot be used to test many addresses for accounts (issue 14).
/// `client` is the caller's address for the hashing budget.
pub async fn register(
    svc: &Services,
    client: Option<IpAddr>,
    email: String,
    password: String,
    full_name: String,
) -> DomainResult<Uuid> {
    password_routes_open(svc)?;
    // The answer "Email already exists" tells whether an address has an
    // account, so the check itself is budgeted per client address; API.md
    // keeps it before the per-email limit.
    if let Some(ip) = client {
        let per_hour = svc.config.auth.registrations_per_client_per_hour;
        limits::window(
            svc,
            &format!(
                "register-client:{}",
                crate::auth::password::client_group(ip)
            ),
            per_hour,
            chrono::Duration::hours(1),
        )
        .await?
        .map_err(|secs| DomainError::rate_limited(m::TOO_MANY_VERIFICATIONS, secs))?;
    }
    let lookup = email.clone();
    if svc.store.read(move |tx| tx.email_taken(&lookup)).await? {
        return Err(DomainError::rule(messages::EMAIL_EXISTS));
    }
    limited(svc, "registration", &email, m::TOO_MANY_VERIFICATIONS).await?;
    let admitted = svc.passwords.admit(client)?;
    let hash = svc.passwords.hash(password).await?;
    drop(admitted);
    let token = Uuid::new_v4();
    let code: u32 = rand::rng().random_range(100_000..=999_999);
    let sealed = svc.secrets.seal(&code.to_string());
    let svc = svc.clone();
    let store = svc.store.clone();
    store
        .write(move |tx| {
            let now = svc.now();
            tx.insert_registration(&NewRegistration {
                token,
                email: &email,
                full_name: &full_name,
                password_hash: &hash,
                code_sealed: &sealed,
                now,
            })?;
            outbox::notify(
                &svc,
                tx,
                &Notice::RegConfirmCode { code },
                &[To::Address {
                    email,
                    name: full_name,
                }],
            )
        })
        .await?;
    Ok(token)
}

/// The code of a registration, unsealed; `None` when the key that sealed it
/// is gone.
fn code_of(svc: &Services, sealed: &str) -> Option<u32> {
    svc.secrets.open_sealed(sealed)?.parse().ok()
}

/// Confirms the emailed code: creates the user (role USER), marks the
/// registration used and queues the welcome email. A wrong code is counted
/// in the registration's row; after [`MAX_CODE_FAILURES`] the registration
/// is void.
pub async fn verify_registration(svc: &Services, token: Uuid, code: i64) -> DomainResult<()> {
    password_routes_open(svc)?;
    let found = svc
        .store
        .read(move |tx| tx.registration(token))
        .await?
        .ok_or_else(invalid_code)?;
    limited(svc, "verification", &found.email, m::TOO_MANY_VERIFICATIONS).await?;
    let svc = svc.clone();
    let store = svc.store.clone();
    let verified = store
        .write(move |tx| {
            let now = svc.now();
            // Re-read inside the write transaction: of two concurrent
            // verifications only the first sees the registration unused.
            let reg = tx.registration(token)?.ok_or_else(invalid_code)?;
            if reg.used
                || token_expired(reg.created_at, now)
                || reg.failed_attempts >= MAX_CODE_FAILURES
            {
                return Err(invalid_code());
            }
            let stored = code_of(&svc, &reg.code_sealed).ok_or_else(invalid_code)?;
            if !constant_time_eq(stored.to_string().as_bytes(), code.to_string().as_bytes()) {
                // Committed: the wrong code counts even though it fails.
                tx.registration_failed(reg.id)?;
                return Ok(false);
            }
            let user = insert_account(
                tx,
                &reg.email,
                &reg.full_name,
                &reg.password_hash,
                Role::User,
                now,
            )?;
            tx.mark_registration_used(reg.id, now)?;
            outbox::notify(&svc, tx, &Notice::RegWelcome, &[To::User(user.id)])?;
            crate::service::webhooks::emit_user_created(&svc, tx, now, user.id)?;
            Ok(true)
        })
        .await?;
    if verified {
        Ok(())
    } else {
        Err(invalid_code())
    }
}

/// Sends the code of a pending registration again (the same code).
pub async fn resend_code(svc: &Services, token: Uuid) -> DomainResult<()> {
    password_routes_open(svc)?;
    let now = svc.now();
    let reg = svc
        .store
        .read(move |tx| tx.registration(token))
        .await?
        .filter(|r| {
            !r.used && !token_expired(r.created_at, now) && r.failed_attempts < MAX_CODE_FAILURES
        })
        .ok_or_else(invalid_code)?;
    limited(svc, "registration", &reg.email, m::TOO_MANY_VERIFICATIONS).await?;
    let code = code_of(svc, &reg.code_sealed).ok_or_else(invalid_code)?;
    let svc = svc.clone();
    let store = svc.store.clone();
    store
        .write(move |tx| {
            outbox::notify(
                &svc,
                tx,
                &Notice::RegConfirmCode { code },
                &[To::Address {
                    email: reg.email,
                    name: reg.full_name,
                }],
            )
        })
        .await
}

// ---------------------------------------------------------------- sessions

/// Logs in: checks the password (one Argon2 run even for unknown emails),
/// applies the brute-force guard, upgrades a weak hash and opens a session.
///
/// Order: the hashing budget admits the request (`client` is the caller's
/// address), then the guess guard reserves a guess before the password is
/// verified, so concurrent guesses cannot outrun it.
pub async fn login(
    svc: &Services,
    client: Option<IpAddr>,
    email: String,
    password: String,
    user_agent: Option<String>,
) -> DomainResult<NewSession> {
    let admitted = svc.passwords.admit(client)?;
    let key = format!("login:{}", email_key(&email));
    let guess = match limits::reserve_guess(svc, &key).await? {
        Ok(guess) => guess,
        Err(secs) => {
            let actor = Actor {
                user_id: None,
                email: Some(email.clone()),
                ip: client.map(|ip| ip.to_string()),
            };
            throttled(svc, actor).await?;
            return Err(DomainError::rate_limited(m::TOO_MANY_LOGINS, secs));
        }
    };
    if let Some(directory) = &svc.directory {
        match directory.check(&email, &password).await {
            Ok(Verdict::Accepted(found)) => {
                guess.succeeded().await?;
                drop(admitted);
                return external::sign_in(svc, IdentityProvider::Ldap, found, user_agent, client)
                    .await;
            }
            Ok(Verdict::Rejected) => {
                // The same Argon2 run as a local check, so that the answer
                // takes as long whoever decides it.
                svc.passwords.verify(password, None).await?;
                guess.failed().await?;
                return Err(DomainError::Unauthenticated(m::INVALID_CREDENTIALS.into()));
            }
            Ok(Verdict::Unknown) => {}
            Err(cause) => {
                tracing::warn!(%cause, "directory sign-in failed: LDAP unavailable");
                return Err(DomainError::Unavailable(m::DIRECTORY_UNAVAILABLE.into()));
            }
        }
    }
    let lookup = email.clone();
    let account = svc
        .store
        .read(move |tx| {
            let Some(c) = tx.credentials_by_email(&lookup)? else {
                return Ok(None);
            };
            let admin = tx.user(c.user_id)?.is_some_and(|u| u.role.is_admin());
            Ok(Some((c, admin)))
        })
        .await?;
    // No local password (an account made by a directory): the dummy hash,
    // so that the check costs the same and fails.
    let stored = account
        .as_ref()
        .map(|(a, _)| a.password_hash.clone())
        .filter(|h| !h.is_empty());
    let verified = svc.passwords.verify(password.clone(), stored).await?;
    let user_id = match account {
        Some((a, admin)) if !a.deleted && verified.ok && !a.password_hash.is_empty() => {
            if !svc.config.auth.password_login && !admin {
                guess.failed().await?;
                return Err(DomainError::Forbidden(m::PASSWORD_LOGIN_DISABLED.into()));
            }
            a.user_id
        }
        _ => {
            guess.failed().await?;
            if !svc.config.auth.password_login {
                return Err(DomainError::Forbidden(m::PASSWORD_LOGIN_DISABLED.into()));
            }
            return Err(DomainError::Unauthenticated(m::INVALID_CREDENTIALS.into()));
        }
    };
    guess.succeeded().await?;
    drop(admitted);
    let rehash = if verified.needs_rehash {
        Some(svc.passwords.hash(password).await?)
    } else {
        None
    };
    let now = svc.now();
    svc.store
        .write(move |tx| {
            if let Some(hash) = rehash {
                tx.set_password_hash(user_id, &hash)?;
            }
            insert_session(tx, user_id, user_agent.as_deref(), now)
        })
        .await
}

/// Records a guess refused by the limit (a security event); the target is
/// the account guessed at, named by the actor's email.
async fn throttled(svc: &Services, actor: Actor) -> DomainResult<()> {
    let target = Target {
        kind: TargetType::User,
        id: actor.user_id.map(|id| id.to_string()),
    };
    audit::record_alone(svc, actor, Action::LoginThrottled, target, Changes::none()).await
}

/// Opens a session for an existing user without a password (tests and
/// tools that act for a user they created).
pub async fn start_session(
    svc: &Services,
    user_id: i64,
    user_agent: Option<String>,
) -> DomainResult<NewSession> {
    let now = svc.now();
    svc.store
        .write(move |tx| insert_session(tx, user_id, user_agent.as_deref(), now))
        .await
}

/// The user behind the two session headers; `401 "Invalid login session"`
/// for an unknown session, a wrong token, an expired session or a deleted
/// user. Refreshes `last_seen_at` at most once a minute.
pub async fn authenticate(svc: &Services, uid: Uuid, token: &str) -> DomainResult<SessionUser> {
    let now = svc.now();
    let ttl = svc.config.auth.session_ttl_days;
    let max_days = svc.config.auth.session_max_days;
    let digest = token_digest(token);
    let found = svc
        .store
        .read(move |tx| tx.session(uid))
        .await?
        .ok_or_else(DomainError::invalid_session)?;
    if !constant_time_eq(found.token_hash.as_bytes(), digest.as_bytes())
        || found.user_deleted
        || !session_alive(found.last_seen_at, now, ttl)
        || !session_young(found.created_at, now, max_days)
    {
        return Err(DomainError::invalid_session());
    }
    if now.0 - found.last_seen_at.0 >= account::TOUCH_EVERY {
        svc.store
            .write(move |tx| tx.touch_session(uid, now))
            .await?;
    }
    Ok(SessionUser {
        session_uid: uid,
        id: found.user_id,
        role: found.role,
        email: found.email,
        full_name: found.full_name,
    })
}

/// Deletes the caller's current session.
pub async fn logout(svc: &Services, me: &SessionUser) -> DomainResult<()> {
    let (uid, id) = (me.session_uid, me.id);
    svc.store
        .write(move |tx| tx.delete_session(uid, id).map(|_| ()))
        .await
}

/// One of the caller's sessions.
#[derive(Debug, Clone)]
pub struct MySession {
    pub session: SessionInfo,
    /// The session of this request.
    pub current: bool,
}

/// The caller's live sessions, most recently used first.
pub async fn list_sessions(svc: &Services, me: &SessionUser) -> DomainResult<Vec<MySession>> {
    let now = svc.now();
    let oldest = Ts(now.0 - chrono::Duration::days(svc.config.auth.session_ttl_days));
    let max_days = svc.config.auth.session_max_days;
    let (id, current) = (me.id, me.session_uid);
    let list = svc.store.read(move |tx| tx.sessions_of(id, oldest)).await?;
    Ok(list
        .into_iter()
        .filter(|s| session_young(s.created_at, now, max_days))
        .map(|session| MySession {
            current: session.uid == current,
            session,
        })
        .collect())
}

/// Revokes one of the caller's sessions; `404 "Session not found"` when it
/// is not theirs or does not exist.
pub async fn revoke_session(
    svc: &Services,
    me: &SessionUser,
    actor: &Actor,
    uid: Uuid,
) -> DomainResult<()> {
    let id = me.id;
    let (inner, actor) = (svc.clone(), actor.clone());
    if svc
        .store
        .write(move |tx| {
            let revoked = tx.delete_session(uid, id)?;
            if revoked {
                let target = Target::of(TargetType::Session, uid);
                audit::record(
                    &inner,
                    tx,
                    &actor,
                    Action::SessionRevoked,
                    target,
                    Changes::none(),
                )?;
            }
            Ok(revoked)
        })
        .await?
    {
        Ok(())
    } else {
        Err(DomainError::not_found(m::SESSION_NOT_FOUND))
    }
}

// ---------------------------------------------------------------- passwords

/// Emails a single-use reset link valid for 24 h (PASSWORD_RESET_LINK).
pub async fn request_recovery(svc: &Services, email: String) -> DomainResult<()> {
    password_routes_open(svc)?;
    limited(svc, "recovery", &email, m::TOO_MANY_RECOVERIES).await?;
    let token = Uuid::new_v4();
    let digest = token_digest(&token.to_string());
    let inner = svc.clone();
    svc.store
        .write(move |tx| {
            let now = inner.now();
            let user_id = tx
                .active_user_by_email(&email)?
                .ok_or_else(|| DomainError::not_found(messages::USER_NOT_FOUND))?;
            tx.insert_recovery(&digest, user_id, now)?;
            outbox::notify(
                &inner,
                tx,
                &Notice::PasswordResetLink {
                    token: token.to_string(),
                },
                &[To::User(user_id)],
            )
        })
        .await?;
    if svc.config.server.debug {
        *lock(&svc.volatile.newest_recovery) = Some(token);
    }
    Ok(())
}

/// Checks a recovery token's row: the user it belongs to.
fn usable_recovery(found: Option<Recovery>, now: Ts) -> DomainResult<Recovery> {
    match found {
        Some(r) if r.used || r.user_deleted => Err(DomainError::rule(m::INVALID_RECOVERY)),
        Some(r) if token_expired(r.created_at, now) => Err(DomainError::rule(m::RECOVERY_EXPIRED)),
        Some(r) => Ok(r),
        None => Err(DomainError::rule(m::INVALID_RECOVERY)),
    }
}

/// Sets a new password with a recovery token and revokes every session and
/// every other recovery token of that user.
pub async fn submit_recovery(
    svc: &Services,
    client: Option<IpAddr>,
    token: Uuid,
    password: String,
) -> DomainResult<()> {
    password_routes_open(svc)?;
    let digest = token_digest(&token.to_string());
    let now = svc.now();
    let lookup = digest.clone();
    usable_recovery(svc.store.read(move |tx| tx.recovery(&lookup)).await?, now)?;
    let admitted = svc.passwords.admit(client)?;
    let hash = svc.passwords.hash(password).await?;
    drop(admitted);
    let svc = svc.clone();
    let store = svc.store.clone();
    store
        .write(move |tx| {
            let recovery = usable_recovery(tx.recovery(&digest)?, now)?;
            tx.mark_recovery_used(recovery.id, now)?;
            tx.set_password_hash(recovery.user_id, &hash)?;
            tx.void_recoveries(recovery.user_id)?;
            let sessions = tx.delete_sessions_of(recovery.user_id, None)?;
            let email = tx
                .user(recovery.user_id)?
                .map(|u| u.email)
                .unwrap_or_default();
            let actor = Actor::user(recovery.user_id, &email, client);
            let changes = Changes::none()
                .secret("password")
                .with("sessions_revoked", 0, sessions);
            let target = Target::user(recovery.user_id);
            audit::record(&svc, tx, &actor, Action::PasswordRecovered, target, changes)?;
            outbox::notify(
                &svc,
                tx,
                &Notice::PasswordChanged,
                &[To::User(recovery.user_id)],
            )
        })
        .await
}

/// Changes the caller's password after checking the current one; every
/// other session and every recovery token of theirs is revoked. Guesses of
/// the current password are limited like logins (key `password:<user id>`,
/// reserved before verifying).
pub async fn change_password(
    svc: &Services,
    client: Option<IpAddr>,
    me: &SessionUser,
    current: String,
    new: String,
) -> DomainResult<()> {
    let id = me.id;
    let keep = me.session_uid;
    let admitted = svc.passwords.admit(client)?;
    let actor = Actor::user(id, &me.email, client);
    let guess = match limits::reserve_guess(svc, &format!("password:{id}")).await? {
        Ok(guess) => guess,
        Err(secs) => {
            throttled(svc, actor).await?;
            return Err(DomainError::rate_limited(m::TOO_MANY_LOGINS, secs));
        }
    };
    let stored = svc.store.read(move |tx| tx.password_hash(id)).await?;
    if !svc.passwords.verify(current, stored).await?.ok {
        guess.failed().await?;
        return Err(DomainError::rule(m::INVALID_PASSWORD));
    }
    guess.succeeded().await?;
    let hash = svc.passwords.hash(new).await?;
    drop(admitted);
    let svc = svc.clone();
    let store = svc.store.clone();
    store
        .write(move |tx| {
            tx.set_password_hash(id, &hash)?;
            tx.void_recoveries(id)?;
            let sessions = tx.delete_sessions_of(id, Some(keep))?;
            let changes = Changes::none()
                .secret("password")
                .with("sessions_revoked", 0, sessions);
            audit::record(
                &svc,
                tx,
                &actor,
                Action::PasswordChanged,
                Target::user(id),
                changes,
            )?;
            outbox::notify(&svc, tx, &Notice::PasswordChanged, &[To::User(id)])
        })
        .await
}

/// Creates a user directly (the CLI's `user create`): no email is sent.
pub async fn create_user(
    svc: &Services,
    email: String,
    full_name: String,
    password: String,
    role: Role,
) -> DomainResult<Account> {
    let hash = svc.passwords.hash(password).await?;
    let now = svc.now();
    let svc = svc.clone();
    svc.store
        .clone()
        .write(move |tx| {
            let account = insert_account(tx, &email, &full_name, &hash, role, now)?;
            crate::service::webhooks::emit_user_created(&svc, tx, now, account.id)?;
            Ok(account)
        })
        .await
}

// ---------------------------------------------------------------- debug routes

/// The newest registration's token and code, used or not.
pub async fn debug_newest_registration(svc: &Services) -> DomainResult<(Uuid, u32)> {
    let reg = svc
        .store
        .read(|tx| tx.newest_registration())
        .await?
        .ok_or_else(|| DomainError::not_found(m::NO_REGISTRATIONS))?;
    let code = code_of(svc, &reg.code_sealed)
        .ok_or_else(|| DomainError::internal("the registration code cannot be unsealed"))?;
    Ok((reg.token, code))
}

/// The newest recovery token this process issued (debug mode only).
pub async fn debug_newest_recovery(svc: &Services) -> DomainResult<Uuid> {
    lock(&svc.volatile.newest_recovery).ok_or_else(|| DomainError::not_found(m::NO_RECOVERIES))
}

/// Makes a pending registration older than its lifetime.
pub async fn debug_expire_registration(svc: &Services, token: Uuid) -> DomainResult<()> {
    let old = account::expired_issue_time(svc.now());
    if svc
        .store
        .write(move |tx| tx.set_registration_created(token, old))
        .await?
    {
        Ok(())
    } else {
        Err(DomainError::not_found(m::REGISTRATION_NOT_FOUND))
    }
}

/// Makes a recovery token older than its lifetime.
pub async fn debug_expire_recovery(svc: &Services, token: Uuid) -> DomainResult<()> {
    let old = account::expired_issue_time(svc.now());
    let digest = token_digest(&token.to_string());
    if svc
        .store
        .write(move |tx| tx.set_recovery_created(&digest, old))
        .await?
    {
        Ok(())
    } else {
        Err(DomainError::not_found(m::RECOVERY_NOT_FOUND))
    }
}
