//! Secrets at rest: a key that lives beside the database but never in it,
//! used to seal what must be read back later (a verification code that is
//! sent again, a password an administrator set that a queued email carries)
//! and to hash what only needs to be recognised (tokens).
//!
//! The key is `<data_dir>/secret.key`, 32 random bytes created on first
//! start with mode 0600. A copy of `afisha.db` (or its backup) without the
//! key file reveals no code, token or password. Losing the key voids what
//! was sealed (pending registrations and queued secret emails), nothing
//! else: sessions and recovery tokens are plain SHA-256 digests.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;

/// The data dir's sealing key.
#[derive(Clone)]
pub struct Secrets {
    cipher: std::sync::Arc<XChaCha20Poly1305>,
    /// HMAC key for what the server derives instead of storing (check-in
    /// tickets): SHA-256 of a label and the key file, so the sealing key is
    /// never used for two purposes.
    mac_key: std::sync::Arc<[u8; 32]>,
}

/// The MAC key derived from the key file's bytes.
fn mac_key(key: &[u8]) -> std::sync::Arc<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(b"afisha mac key v1\0");
    h.update(key);
    std::sync::Arc::new(h.finalize().into())
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// Loads `<data_dir>/secret.key`, creating it (0600) when missing.
    pub fn open(data_dir: &Path) -> anyhow::Result<Secrets> {
        let path = data_dir.join(KEY_FILE);
        let key = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(&path)?,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        anyhow::ensure!(
            key.len() == 32,
            "{} is not a 32-byte key (was it edited?)",
            path.display()
        );
        let cipher = XChaCha20Poly1305::new_from_slice(&key)
            .map_err(|_| anyhow::anyhow!("{}: bad key length", path.display()))?;
        Ok(Secrets {
            cipher: std::sync::Arc::new(cipher),
            mac_key: mac_key(&key),
        })
    }

    /// A key that lives only in memory (tests of pure functions).
    pub fn ephemeral() -> Secrets {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Secrets {
            cipher: std::sync::Arc::new(
                XChaCha20Poly1305::new_from_slice(&key).expect("32-byte key"),
            ),
            mac_key: mac_key(&key),
        }
    }

    /// Encrypts and authenticates `plain`; the result is hex text (nonce,
    /// then ciphertext and tag), safe for a TEXT column.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    /// The text [`Secrets::seal`] sealed with this key; `None` when it was
    /// sealed with another key or altered.
    pub fn open_sealed(&self, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(XNonce::from_slice(nonce), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

impl Secrets {
    /// HMAC-SHA-256 of `message` under this data dir's MAC key: the same on
    /// every instance that shares `secret.key`, unforgeable without it.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key[..])
            .expect("HMAC takes any key length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

/// SHA-256 of a high-entropy token, hex: what is stored to recognise it.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Creates `dir` (and missing parents) readable by the owner only (0700 on
/// Unix); an existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes an existing file readable and writable by the owner only (0600 on
/// Unix); a missing file is not an error.
pub fn restrict_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn create_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    }
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(&key)
                .and_then(|_| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::open(dir.path()).unwrap();
        let sealed = s.seal("123456");
        assert!(!sealed.contains("123456"));
        assert_eq!(s.open_sealed(&sealed).as_deref(), Some("123456"));
        let mut bad = sealed.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(s.open_sealed(std::str::from_utf8(&bad).unwrap()), None);
        assert_eq!(Secrets::ephemeral().open_sealed(&sealed), None);
        assert_eq!(s.open_sealed("zz"), None);
    }

    #[test]
    fn key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secrets::open(dir.path()).unwrap();
        let b = Secrets::open(dir.path()).unwrap();
        assert_eq!(b.open_sealed(&a.seal("x")).as_deref(), Some("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
