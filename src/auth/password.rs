//! Argon2id hashing on the blocking pool, bounded by a semaphore sized to the
//! cores so a flood of logins cannot starve other blocking work.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use tokio::sync::Semaphore;

use crate::config::Argon2Config;
use crate::domain::error::{DomainError, DomainResult};
use crate::store::sqlite::run_blocking;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the email is
    /// unknown so that timing does not tell which emails exist. Made on
    /// first use (it costs one Argon2 run and its memory).
    dummy: Arc<std::sync::OnceLock<String>>,
}

/// The result of checking a password.
pub struct Verified {
    pub ok: bool,
    /// The stored hash used weaker parameters than configured.
    pub needs_rehash: bool,
}

impl Passwords {
    pub fn new(config: Argon2Config) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("auth.argon2: {e}"))?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            dummy: Arc::default(),
        })
    }

    /// Hashes on the current thread (CLI, tests, seeding).
    pub fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        hash_with(&self.params, password)
    }

    pub async fn hash(&self, password: String) -> DomainResult<String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(DomainError::internal)?;
        let params = self.params.clone();
        run_blocking(move || hash_with(&params, &password).map_err(DomainError::Internal)).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no stored hash (unknown user): always one Argon2 run.
    pub async fn verify(&self, password: String, stored: Option<String>) -> DomainResult<Verified> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(DomainError::internal)?;
        let params = self.params.clone();
        let dummy = self.dummy.clone();
        run_blocking(move || {
            let known = stored.is_some();
            let stored = match stored {
                Some(hash) => hash,
                None => dummy
                    .get_or_init(|| {
                        let mut random = [0u8; 32];
                        rand::rng().fill_bytes(&mut random);
                        hash_with(&params, &hex::encode(random)).unwrap_or_default()
                    })
                    .clone(),
            };
            Ok(verify_with(&params, &password, &stored, known))
        })
        .await
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

fn verify_with(params: &Params, password: &str, stored: &str, known: bool) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified {
            ok: false,
            needs_rehash: false,
        };
    };
    let ok = argon2(params)
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && known;
    let needs_rehash = ok
        && match Params::try_from(&parsed) {
            Ok(p) => {
                parsed.algorithm.as_str() != "argon2id"
                    || p.m_cost() < params.m_cost()
                    || p.t_cost() < params.t_cost()
                    || p.p_cost() < params.p_cost()
            }
            Err(_) => true,
        };
    Verified { ok, needs_rehash }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(m: u32) -> Passwords {
        Passwords::new(Argon2Config {
            memory_kib: m,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hash_verify_and_rehash() {
        let weak = cheap(1024);
        let strong = cheap(2048);
        let h = weak.hash("secret-password".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        let v = weak
            .verify("secret-password".into(), Some(h.clone()))
            .await
            .unwrap();
        assert!(v.ok && !v.needs_rehash);
        assert!(
            !weak
                .verify("wrong".into(), Some(h.clone()))
                .await
                .unwrap()
                .ok
        );
        let v = strong
            .verify("secret-password".into(), Some(h))
            .await
            .unwrap();
        assert!(v.ok && v.needs_rehash);
        assert!(!strong.verify("anything".into(), None).await.unwrap().ok);
    }
}
