//! Argon2id hashing on the blocking pool, bounded by a semaphore sized to the
//! cores so a flood of logins cannot starve other blocking work.
//!
//! Work that anyone can cause without a session (login, registration,
//! recovery) and the own password change must first be *admitted*
//! ([`Passwords::admit`]): at most `cores + auth.hash_queue` such requests
//! hash or wait at once, and at most `auth.hash_per_client` of them per
//! client address (IPv6 grouped by /64). Beyond that the request is refused
//! at once with `429 "Too many requests, try later"` and `Retry-After: 1`
//! instead of queueing: a flood gets fast refusals and a real user's login
//! waits behind at most a short queue. 429 (not 503) because the refusal is
//! about the callers' rate, not the server's health.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

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
    budget: Arc<Budget>,
}

/// How many admitted requests may be in flight, overall and per client.
#[derive(Default)]
struct Budget {
    max_total: usize,
    max_per_client: usize,
    /// In flight: the total and per client group.
    used: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

use crate::domain::account::messages::BUSY;

/// Groups an address as the per-client budget counts it: IPv4 as is (and
/// IPv4-mapped IPv6 as IPv4), IPv6 by its /64.
pub fn client_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// A place in the hashing budget; given back when dropped.
#[must_use]
pub struct Admission {
    budget: Arc<Budget>,
    client: Option<IpAddr>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|p| p.into_inner());
        used.0 = used.0.saturating_sub(1);
        if let Some(ip) = self.client
            && let Some(n) = used.1.get_mut(&ip)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                used.1.remove(&ip);
            }
        }
    }
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
            budget: Arc::new(Budget {
                max_total: cores + 16,
                max_per_client: 4,
                used: Default::default(),
            }),
        })
    }

    /// Sets the admission budget: `queue` requests may wait beyond one per
    /// core, `per_client` may be in flight per client address.
    pub fn with_budget(mut self, queue: usize, per_client: usize) -> Self {
        let cores = self.permits.available_permits();
        self.budget = Arc::new(Budget {
            max_total: cores + queue,
            max_per_client: per_client.max(1),
            used: Default::default(),
        });
        self
    }

    /// Admits one request that will hash or verify a password, or refuses
    /// it at once (`429 BUSY`, retry after 1 s) when the overall or the
    /// client's budget is used up. `client` is the caller's address when
    /// known.
    pub fn admit(&self, client: Option<IpAddr>) -> DomainResult<Admission> {
        let client = client.map(client_group);
        let b = &self.budget;
        let mut used = b.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.0 >= b.max_total {
            return Err(DomainError::rate_limited(BUSY, 1));
        }
        if let Some(ip) = client {
            let n = used.1.entry(ip).or_insert(0);
            if *n >= b.max_per_client {
                return Err(DomainError::rate_limited(BUSY, 1));
            }
            *n += 1;
        }
        used.0 += 1;
        Ok(Admission {
            budget: b.clone(),
            client,
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

    #[test]
    fn admission_budget_overall_and_per_client() {
        let p = cheap(1024);
        let cores = p.permits.available_permits();
        let p = p.with_budget(8, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let v6a: IpAddr = "2001:db8::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8::2".parse().unwrap();
        let first = p.admit(Some(a)).unwrap();
        let _second = p.admit(Some(a)).unwrap();
        assert!(p.admit(Some(a)).is_err(), "per client");
        drop(first);
        let _third = p.admit(Some(a)).unwrap();
        let _x = p.admit(Some(v6a)).unwrap();
        let _y = p.admit(Some(v6b)).unwrap();
        assert!(p.admit(Some(v6a)).is_err(), "one /64 is one client");
        let mut rest = Vec::new();
        while let Ok(adm) = p.admit(None) {
            rest.push(adm);
        }
        assert_eq!(rest.len() + 4, cores + 8, "overall");
    }
}
