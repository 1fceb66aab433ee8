//! The company directory (LDAP): finds a user by the address typed at
//! sign-in and checks their password by binding as them.
//!
//! One connection per sign-in: search with the service account (or
//! anonymously), bind as the entry found, then ask the administrators' group
//! whether it lists the entry. Nothing is cached; the directory stays the
//! source of truth for passwords and for the administrators' group.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, ldap_escape};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::config::LdapConfig;

/// What the directory says about a sign-in.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The password is right; the entry's facts.
    Accepted(DirectoryUser),
    /// The directory knows the address and the password is wrong.
    Rejected,
    /// No entry matches the address (a local account may still).
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    /// A stable id of the entry: `entryUUID` (OpenLDAP and most servers),
    /// `objectGUID` in hex (Active Directory), or the DN.
    pub subject: String,
    pub email: String,
    pub full_name: String,
    /// Whether the administrators' group lists the entry; `None` when no
    /// group is configured.
    pub admin: Option<bool>,
}

/// Why the directory could not answer: unreachable, TLS, a refused service
/// bind, a malformed filter. Logged in full; users see a general message.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Unavailable(anyhow::Error);

#[derive(Clone)]
pub struct Directory {
    config: Arc<LdapConfig>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Directory {
    /// The configured directory, or `None` when `auth.ldap.url` is unset.
    /// Reads the CA file now, so a wrong path stops the start-up.
    pub fn open(config: &LdapConfig) -> anyhow::Result<Option<Directory>> {
        if config.url.is_none() {
            return Ok(None);
        }
        let tls = match &config.ca_file {
            None => None,
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .with_context(|| format!("auth.ldap.ca_file {}", path.display()))?;
                anyhow::ensure!(
                    !certs.is_empty(),
                    "auth.ldap.ca_file {}: no certificate in it",
                    path.display()
                );
                for cert in certs {
                    roots
                        .add(cert)
                        .with_context(|| format!("auth.ldap.ca_file {}", path.display()))?;
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Some(Arc::new(tls))
            }
        };
        Ok(Some(Directory {
            config: Arc::new(config.clone()),
            tls,
        }))
    }

    /// Asks the directory about `email` and `password`.
    pub async fn check(&self, email: &str, password: &str) -> Result<Verdict, Unavailable> {
        // An empty password would be an "unauthenticated bind", which many
        // servers accept for any DN (RFC 4513, 5.1.2).
        if password.is_empty() {
            return Ok(Verdict::Rejected);
        }
        let timeout = Duration::from_secs(self.config.timeout_secs.max(1));
        tokio::time::timeout(timeout * 4, self.ask(email, password, timeout))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {:?}", timeout * 4)))
            .map_err(Unavailable)
    }

    async fn ask(&self, email: &str, password: &str, timeout: Duration) -> anyhow::Result<Verdict> {
        let c = &self.config;
        let url = c.url.as_deref().unwrap_or_default();
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(timeout)
            .set_starttls(c.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        ldap3::drive!(conn);

        if let (Some(dn), Some(pw)) = (&c.bind_dn, &c.bind_password) {
            ldap.with_timeout(timeout)
                .simple_bind(dn, pw)
                .await?
                .success()
                .context("the service account's bind (auth.ldap.bind_dn) was refused")?;
        }
        let login = email.split('@').next().unwrap_or_default();
        let filter = c
            .user_filter
            .replace("{email}", &ldap_escape(email))
            .replace("{login}", &ldap_escape(login));
        let attrs = [
            c.email_attribute.as_str(),
            c.name_attribute.as_str(),
            "entryUUID",
            "objectGUID",
        ];
        let base = c.base_dn.as_deref().unwrap_or_default();
        let (entries, _) = ldap
            .with_timeout(timeout)
            .search(base, Scope::Subtree, &filter, attrs)
            .await?
            .success()
            .with_context(|| format!("searching {base} for {filter}"))?;
        let entry = match entries.len() {
            0 => return Ok(Verdict::Unknown),
            1 => SearchEntry::construct(entries.into_iter().next().expect("one entry")),
            n => anyhow::bail!("{n} entries match {filter}; the filter must find one user"),
        };
        // Asked while bound as the service account (the user may not be
        // allowed to read the group).
        let admin = match &c.admin_group {
            None => None,
            Some(group) => {
                let member = format!("(member={})", ldap_escape(&entry.dn));
                let (found, _) = ldap
                    .with_timeout(timeout)
                    .search(group, Scope::Base, &member, ["1.1"])
                    .await?
                    .success()
                    .or_else(|e| match e {
                        // 32 = noSuchObject: the group is not there (yet).
                        ldap3::LdapError::LdapResult { result } if result.rc == 32 => {
                            Ok((Vec::new(), result))
                        }
                        e => Err(e),
                    })
                    .with_context(|| format!("reading the group {group}"))?;
                Some(!found.is_empty())
            }
        };
        let bind = ldap
            .with_timeout(timeout)
            .simple_bind(&entry.dn, password)
            .await?;
        // 49 = invalidCredentials (RFC 4511).
        if bind.rc == 49 {
            let _ = ldap.unbind().await;
            return Ok(Verdict::Rejected);
        }
        bind.success()
            .with_context(|| format!("binding as {}", entry.dn))?;

        let _ = ldap.unbind().await;

        let first = |name: &str| {
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.first())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let guid = entry
            .bin_attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("objectGUID"))
            .and_then(|(_, v)| v.first())
            .map(hex::encode);
        let subject = first("entryUUID")
            .or(guid)
            .unwrap_or_else(|| entry.dn.to_lowercase());
        let email = first(&c.email_attribute).unwrap_or_else(|| email.trim().to_string());
        let full_name = first(&c.name_attribute).unwrap_or_else(|| email.clone());
        Ok(Verdict::Accepted(DirectoryUser {
            subject,
            email,
            full_name,
            admin,
        }))
    }
}
