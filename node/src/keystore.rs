//! Encrypted key files in the Ethereum keystore v3 layout (Web3 Secret Storage).
//!
//! A file holds one secp256k1 secret encrypted with AES-128-CTR under a key derived from a
//! passphrase with scrypt:
//!
//! ```text
//! derived    = scrypt(passphrase, salt, n, r, p, dklen = 32)
//! ciphertext = AES-128-CTR(key = derived[0..16], iv, secret)
//! mac        = Keccak-256(derived[16..32] ‖ ciphertext)
//! ```
//!
//! so the files interoperate with geth, clef and other Ethereum tools. Start from [`read_key`]:
//! it is what a command that takes `--key FILE` calls, and it also accepts the plain `0x…` hex
//! key files `joule dev` writes. [`encrypt`], [`decrypt`], [`load`] and [`save`] are the parts.
//!
//! A key file may come from anyone, so decryption refuses scrypt parameters that would make the
//! node allocate more than [`MAX_SCRYPT_MEMORY`] bytes or do more than [`MAX_SCRYPT_WORK`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use aes::cipher::{KeyIvInit, StreamCipher};
use joule_ledger::crypto::KeyParseError;
use joule_ledger::{Address, Hash, SecretKey};
use serde::{Deserialize, Serialize};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// The only file version read and written.
pub const VERSION: u64 = 3;
/// The only cipher read and written.
pub const CIPHER: &str = "aes-128-ctr";
/// The only key derivation function read and written.
pub const KDF: &str = "scrypt";
/// Length of the scrypt output: 16 bytes of AES key and 16 bytes of MAC key.
pub const DKLEN: u32 = 32;
/// Largest scrypt `n` accepted: 2^20.
pub const MAX_SCRYPT_N: u64 = 1 << 20;
/// Most memory scrypt may use, `128·r·(n + p)` bytes: 1 GiB.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// Most work scrypt may do, `n·r·p`: 2^24, eight times the standard parameters.
pub const MAX_SCRYPT_WORK: u64 = 1 << 24;
/// Largest key file read, in bytes (a keystore file is about 500).
pub const MAX_FILE_LEN: u64 = 64 * 1024;

/// Why a key could not be encrypted, decrypted, read or written. Each message includes its cause
/// (no `source()` chain), so `{e}` and anyhow's `{e:#}` print it once.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The file is not a keystore v3 JSON document.
    #[error("not a valid keystore file: {0}")]
    Json(serde_json::Error),
    /// The file's `version` is not 3.
    #[error("unsupported keystore version {0} (only version 3 is supported)")]
    UnsupportedVersion(u64),
    /// The cipher is not `aes-128-ctr`.
    #[error("unsupported cipher {0:?} (only aes-128-ctr is supported)")]
    UnsupportedCipher(String),
    /// The key derivation function is not `scrypt`.
    #[error("unsupported key derivation function {0:?} (only scrypt is supported)")]
    UnsupportedKdf(String),
    /// The derived key length is not 32 bytes.
    #[error("unsupported scrypt dklen {0} (must be 32)")]
    BadDklen(u32),
    /// Scrypt `n` is not a power of two of at least 2.
    #[error("scrypt n = {0} is not a power of two of at least 2")]
    ScryptNNotPowerOfTwo(u64),
    /// Scrypt `n` is above [`MAX_SCRYPT_N`].
    #[error("scrypt n = {n} is above the maximum {max}")]
    ScryptNTooLarge {
        /// The file's `n`.
        n: u64,
        /// [`MAX_SCRYPT_N`].
        max: u64,
    },
    /// Scrypt `r` or `p` is zero.
    #[error("scrypt r = {r} and p = {p} must both be at least 1")]
    ScryptZeroRp {
        /// The file's `r`.
        r: u32,
        /// The file's `p`.
        p: u32,
    },
    /// The parameters would use more than [`MAX_SCRYPT_MEMORY`] or [`MAX_SCRYPT_WORK`].
    #[error(
        "scrypt n = {n}, r = {r}, p = {p} costs too much (at most {MAX_SCRYPT_MEMORY} bytes of memory and n·r·p ≤ {MAX_SCRYPT_WORK})"
    )]
    ScryptTooCostly {
        /// The file's `n`.
        n: u64,
        /// The file's `r`.
        r: u32,
        /// The file's `p`.
        p: u32,
    },
    /// The AES IV is not 16 bytes.
    #[error("cipherparams.iv has {0} bytes, expected 16")]
    BadIvLength(usize),
    /// The ciphertext is not 32 bytes (one secp256k1 secret).
    #[error("ciphertext has {0} bytes, expected 32")]
    BadCiphertextLength(usize),
    /// The MAC does not match: the passphrase is wrong or the file was altered.
    #[error("wrong passphrase (the MAC does not match) or the file was altered")]
    MacMismatch,
    /// The decrypted bytes are not a secp256k1 secret key (zero or not below the curve order).
    #[error(
        "the decrypted secret is not a valid secp256k1 key (zero or not below the curve order)"
    )]
    NotOnCurve,
    /// The file's `address` field is not 20 bytes of hex.
    #[error("the file's address {0:?} is not 20 bytes of hex")]
    BadAddress(String),
    /// The file's `address` is not the address of the key it holds.
    #[error("the file says address {file} but holds the key of {key}")]
    AddressMismatch {
        /// The address the file names.
        file: Address,
        /// The address of the decrypted key.
        key: Address,
    },
    /// A plain hex key file does not hold a valid key.
    #[error("not a valid hex key file: {0}")]
    PlainKey(KeyParseError),
    /// The file is larger than any key file.
    #[error("{path} has {len} bytes, more than a key file ({MAX_FILE_LEN})")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// [`save`] would overwrite a file.
    #[error("{0} already exists; not overwriting it")]
    AlreadyExists(PathBuf),
    /// Reading or writing a file failed.
    #[error("{action} {path}: {error}")]
    Io {
        /// What was being done ("reading", "creating", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// The passphrase environment variable is not set or not UTF-8.
    #[error("environment variable {0} is not set (or is not UTF-8)")]
    PassphraseEnv(String),
    /// The passphrase prompt failed (no terminal, for example).
    #[error(
        "reading the passphrase from the terminal: {0} (without a terminal, use --password-file or --password-env)"
    )]
    Prompt(std::io::Error),
    /// The two passphrases typed for a new key differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// A new key would be encrypted with an empty passphrase.
    #[error("refusing to encrypt a key with an empty passphrase")]
    EmptyPassphrase,
}

/// Scrypt cost parameters, checked against the bounds above when built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    log_n: u8,
    r: u32,
    p: u32,
}

impl ScryptParams {
    /// The standard parameters of `joule keys new` (and geth): n = 2^18, r = 8, p = 1.
    pub const STANDARD: ScryptParams = ScryptParams {
        log_n: 18,
        r: 8,
        p: 1,
    };

    /// Checks `n`, `r` and `p` against the bounds of this module.
    pub fn new(n: u64, r: u32, p: u32) -> Result<Self, KeystoreError> {
        if n < 2 || !n.is_power_of_two() {
            return Err(KeystoreError::ScryptNNotPowerOfTwo(n));
        }
        if n > MAX_SCRYPT_N {
            return Err(KeystoreError::ScryptNTooLarge {
                n,
                max: MAX_SCRYPT_N,
            });
        }
        if r == 0 || p == 0 {
            return Err(KeystoreError::ScryptZeroRp { r, p });
        }
        let (r64, p64) = (u64::from(r), u64::from(p));
        // n ≤ 2^20 and r, p < 2^32, so neither product overflows u128.
        let memory = 128 * u128::from(r64) * u128::from(n + p64);
        let work = u128::from(n) * u128::from(r64) * u128::from(p64);
        if memory > u128::from(MAX_SCRYPT_MEMORY) || work > u128::from(MAX_SCRYPT_WORK) {
            return Err(KeystoreError::ScryptTooCostly { n, r, p });
        }
        Ok(ScryptParams {
            log_n: n.trailing_zeros() as u8,
            r,
            p,
        })
    }

    /// `n`, a power of two.
    pub fn n(&self) -> u64 {
        1 << self.log_n
    }

    /// `r`, the block size.
    pub fn r(&self) -> u32 {
        self.r
    }

    /// `p`, the parallelism.
    pub fn p(&self) -> u32 {
        self.p
    }

    fn derive(&self, passphrase: &[u8], salt: &[u8]) -> [u8; 32] {
        let params = scrypt::Params::new(self.log_n, self.r, self.p)
            .expect("n, r and p are bounded far below scrypt's limits in `new`; qed");
        let mut out = [0u8; 32];
        scrypt::scrypt(passphrase, salt, &params, &mut out)
            .expect("a 32-byte output is a valid scrypt output length; qed");
        out
    }
}

/// A keystore v3 document, as stored on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeystoreFile {
    /// Format version: 3.
    pub version: u64,
    /// A random UUID naming the key (not derived from it).
    pub id: String,
    /// The key's address as 40 hex digits without `0x`; optional in the format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The encrypted key (`Crypto` in files written by some old tools).
    #[serde(alias = "Crypto")]
    pub crypto: CryptoSection,
}

/// The `crypto` object of a keystore file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CryptoSection {
    /// The cipher: `aes-128-ctr`.
    pub cipher: String,
    /// The cipher's parameters.
    pub cipherparams: CipherParams,
    /// The encrypted secret.
    #[serde(with = "hex_bytes")]
    pub ciphertext: Vec<u8>,
    /// The key derivation function: `scrypt`.
    pub kdf: String,
    /// Its parameters.
    pub kdfparams: KdfParams,
    /// `Keccak-256(derived[16..32] ‖ ciphertext)`.
    #[serde(with = "hex_bytes")]
    pub mac: Vec<u8>,
}

/// AES-CTR parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CipherParams {
    /// The initial counter block, 16 bytes.
    #[serde(with = "hex_bytes")]
    pub iv: Vec<u8>,
}

/// Scrypt parameters as written in a file (checked only when decrypting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Derived key length: 32.
    pub dklen: u32,
    /// CPU and memory cost.
    pub n: u64,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
    /// Random salt.
    #[serde(with = "hex_bytes")]
    pub salt: Vec<u8>,
}

impl KeystoreFile {
    /// Parses a keystore document, naming an unsupported version, cipher or KDF rather than
    /// reporting the fields it lacks.
    pub fn from_json(text: &str) -> Result<Self, KeystoreError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(KeystoreError::Json)?;
        if let Some(version) = value.get("version").and_then(|v| v.as_u64())
            && version != VERSION
        {
            return Err(KeystoreError::UnsupportedVersion(version));
        }
        let crypto = value.get("crypto").or_else(|| value.get("Crypto"));
        if let Some(kdf) = crypto.and_then(|c| c.get("kdf")).and_then(|k| k.as_str())
            && kdf != KDF
        {
            return Err(KeystoreError::UnsupportedKdf(kdf.to_owned()));
        }
        serde_json::from_value(value).map_err(KeystoreError::Json)
    }

    /// The document as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a keystore file serializes to JSON; qed")
    }

    /// The address the file names, if it names one, without decrypting anything.
    pub fn address(&self) -> Result<Option<Address>, KeystoreError> {
        let Some(text) = &self.address else {
            return Ok(None);
        };
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        let mut out = [0u8; 20];
        hex::decode_to_slice(digits, &mut out)
            .map_err(|_| KeystoreError::BadAddress(text.clone()))?;
        Ok(Some(Address(out)))
    }
}

/// Encrypts `key` under `passphrase` with fresh random salt, IV and id.
pub fn encrypt(key: &SecretKey, passphrase: &[u8], params: &ScryptParams) -> KeystoreFile {
    let salt: [u8; 32] = rand::random();
    let iv: [u8; 16] = rand::random();
    let mut derived = params.derive(passphrase, &salt);
    let mut ciphertext = key.to_bytes().to_vec();
    apply_aes_ctr(&derived, &iv, &mut ciphertext);
    let mac = Hash::keccak_concat(&[&derived[16..32], &ciphertext]);
    wipe(&mut derived);
    KeystoreFile {
        version: VERSION,
        id: uuid::Uuid::new_v4().to_string(),
        address: Some(hex::encode(key.address().0)),
        crypto: CryptoSection {
            cipher: CIPHER.to_owned(),
            cipherparams: CipherParams { iv: iv.to_vec() },
            ciphertext,
            kdf: KDF.to_owned(),
            kdfparams: KdfParams {
                dklen: DKLEN,
                n: params.n(),
                r: params.r(),
                p: params.p(),
                salt: salt.to_vec(),
            },
            mac: mac.0.to_vec(),
        },
    }
}

/// Decrypts the key in `file`, checking every parameter before running scrypt, then the MAC,
/// then that the file's address (if any) is the key's.
pub fn decrypt(file: &KeystoreFile, passphrase: &[u8]) -> Result<SecretKey, KeystoreError> {
    let (params, claimed) = check(file)?;
    let c = &file.crypto;
    let mut derived = params.derive(passphrase, &c.kdfparams.salt);
    let mac = Hash::keccak_concat(&[&derived[16..32], &c.ciphertext]);
    if !constant_time_eq(&mac.0, &c.mac) {
        wipe(&mut derived);
        return Err(KeystoreError::MacMismatch);
    }
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&c.ciphertext);
    apply_aes_ctr(&derived, &c.cipherparams.iv, &mut secret);
    wipe(&mut derived);
    let key = SecretKey::from_bytes(&secret).map_err(|_| KeystoreError::NotOnCurve);
    wipe(&mut secret);
    let key = key?;
    if let Some(file_address) = claimed
        && file_address != key.address()
    {
        return Err(KeystoreError::AddressMismatch {
            file: file_address,
            key: key.address(),
        });
    }
    Ok(key)
}

/// Checks everything about `file` that needs no passphrase, before any scrypt work: returns the
/// scrypt parameters and the address the file names.
fn check(file: &KeystoreFile) -> Result<(ScryptParams, Option<Address>), KeystoreError> {
    if file.version != VERSION {
        return Err(KeystoreError::UnsupportedVersion(file.version));
    }
    let c = &file.crypto;
    if c.cipher != CIPHER {
        return Err(KeystoreError::UnsupportedCipher(c.cipher.clone()));
    }
    if c.kdf != KDF {
        return Err(KeystoreError::UnsupportedKdf(c.kdf.clone()));
    }
    let k = &c.kdfparams;
    if k.dklen != DKLEN {
        return Err(KeystoreError::BadDklen(k.dklen));
    }
    let params = ScryptParams::new(k.n, k.r, k.p)?;
    if c.cipherparams.iv.len() != 16 {
        return Err(KeystoreError::BadIvLength(c.cipherparams.iv.len()));
    }
    if c.ciphertext.len() != 32 {
        return Err(KeystoreError::BadCiphertextLength(c.ciphertext.len()));
    }
    Ok((params, file.address()?))
}

/// Reads and parses a keystore file (at most [`MAX_FILE_LEN`] bytes).
pub fn load(path: &Path) -> Result<KeystoreFile, KeystoreError> {
    KeystoreFile::from_json(&read_small(path)?)
}

/// Writes `file` to `path` with mode 0600, creating the parent directories (mode 0700) but
/// never replacing an existing file.
pub fn save(path: &Path, file: &KeystoreFile) -> Result<(), KeystoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeystoreError::AlreadyExists(path.to_owned()),
        _ => io_error("creating", path, e),
    })?;
    let written = f
        .write_all(file.to_json().as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all());
    if let Err(e) = written {
        // Leave no half-written key file behind; the write error is the one to report.
        let _ = std::fs::remove_file(path);
        return Err(io_error("writing", path, e));
    }
    Ok(())
}

/// Where a passphrase comes from. Its `Debug` form never shows a given passphrase.
#[derive(Clone, PartialEq, Eq)]
pub enum PassphraseSource {
    /// Ask on the terminal (twice for a new key).
    Prompt,
    /// The contents of a file, without one trailing newline.
    File(PathBuf),
    /// The value of an environment variable.
    Env(String),
    /// Given by the caller (tests, programs that have it already).
    Given(String),
}

impl std::fmt::Debug for PassphraseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PassphraseSource::Prompt => f.write_str("Prompt"),
            PassphraseSource::File(path) => f.debug_tuple("File").field(path).finish(),
            PassphraseSource::Env(var) => f.debug_tuple("Env").field(var).finish(),
            PassphraseSource::Given(_) => f.write_str("Given(..)"),
        }
    }
}

impl PassphraseSource {
    /// The passphrase to decrypt a key with.
    pub fn read(&self) -> Result<String, KeystoreError> {
        match self {
            PassphraseSource::Prompt => {
                rpassword::prompt_password("Passphrase: ").map_err(KeystoreError::Prompt)
            }
            PassphraseSource::File(path) => {
                let mut text = read_small(path)?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                Ok(text)
            }
            PassphraseSource::Env(var) => {
                std::env::var(var).map_err(|_| KeystoreError::PassphraseEnv(var.clone()))
            }
            PassphraseSource::Given(passphrase) => Ok(passphrase.clone()),
        }
    }

    /// The passphrase to encrypt a new key with: typed twice at a prompt, and never empty.
    pub fn read_new(&self) -> Result<String, KeystoreError> {
        let passphrase = match self {
            PassphraseSource::Prompt => {
                let first = rpassword::prompt_password("New passphrase: ")
                    .map_err(KeystoreError::Prompt)?;
                let second =
                    rpassword::prompt_password("Repeat it: ").map_err(KeystoreError::Prompt)?;
                if first != second {
                    return Err(KeystoreError::PassphraseMismatch);
                }
                first
            }
            other => other.read()?,
        };
        if passphrase.is_empty() {
            return Err(KeystoreError::EmptyPassphrase);
        }
        Ok(passphrase)
    }
}

/// Reads the secret key in `path`: a keystore v3 file, decrypted with a passphrase from
/// `passphrase` (asked for only then), or a plain `0x…` hex key file like those `joule dev`
/// writes.
pub fn read_key(path: &Path, passphrase: &PassphraseSource) -> Result<SecretKey, KeystoreError> {
    let text = read_small(path)?;
    let trimmed = text.trim();
    if trimmed.starts_with("0x") || trimmed.starts_with("0X") {
        return SecretKey::from_hex(trimmed).map_err(KeystoreError::PlainKey);
    }
    let file = KeystoreFile::from_json(&text)?;
    // A file that cannot be decrypted is refused before anyone is asked for a passphrase.
    check(&file)?;
    decrypt(&file, passphrase.read()?.as_bytes())
}

fn apply_aes_ctr(derived: &[u8; 32], iv: &[u8], buf: &mut [u8]) {
    let mut cipher = Aes128Ctr::new_from_slices(&derived[..16], iv)
        .expect("a 16-byte key and a 16-byte IV (checked by the caller) fit AES-128-CTR; qed");
    cipher.apply_keystream(buf);
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Overwrites secret bytes before they are dropped (best effort, without a zeroize crate).
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

fn io_error(action: &'static str, path: &Path, error: std::io::Error) -> KeystoreError {
    KeystoreError::Io {
        action,
        path: path.to_owned(),
        error,
    }
}

fn read_small(path: &Path) -> Result<String, KeystoreError> {
    let f = std::fs::File::open(path).map_err(|e| io_error("opening", path, e))?;
    let mut text = String::new();
    f.take(MAX_FILE_LEN + 1)
        .read_to_string(&mut text)
        .map_err(|e| io_error("reading", path, e))?;
    if text.len() as u64 > MAX_FILE_LEN {
        let len = std::fs::metadata(path).map_or(text.len() as u64, |m| m.len());
        return Err(KeystoreError::TooLarge {
            path: path.to_owned(),
            len,
        });
    }
    Ok(text)
}

fn create_private_dir(dir: &Path) -> Result<(), KeystoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_error("creating directory", dir, e))
}

/// Byte strings as hex without `0x` (accepting an optional `0x` when reading).
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(&text);
        hex::decode(digits)
            .map_err(|e| serde::de::Error::custom(format_args!("invalid hex {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fast parameters for tests: n = 2^10.
    fn fast() -> ScryptParams {
        ScryptParams::new(1 << 10, 8, 1).expect("valid parameters")
    }

    /// The scrypt test vector of the Web3 Secret Storage Definition, verbatim (it has no
    /// `address` field).
    const SPEC_VECTOR: &str = r#"{
        "crypto" : {
            "cipher" : "aes-128-ctr",
            "cipherparams" : { "iv" : "83dbcc02d8ccb40e466191a123791e0e" },
            "ciphertext" : "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
            "kdf" : "scrypt",
            "kdfparams" : {
                "dklen" : 32,
                "n" : 262144,
                "p" : 8,
                "r" : 1,
                "salt" : "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"
            },
            "mac" : "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"
        },
        "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        "version" : 3
    }"#;
    const SPEC_SECRET: &str = "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

    #[test]
    fn web3_secret_storage_scrypt_vector_decrypts() {
        let file = KeystoreFile::from_json(SPEC_VECTOR).expect("the spec vector parses");
        let key = decrypt(&file, b"testpassword").expect("the spec vector decrypts");
        assert_eq!(format!("0x{}", hex::encode(key.to_bytes())), SPEC_SECRET);
        assert!(matches!(
            decrypt(&file, b"testpassword!"),
            Err(KeystoreError::MacMismatch)
        ));
    }

    #[test]
    fn round_trip_and_layout() {
        let key = SecretKey::from_seed("keystore round trip");
        let file = encrypt(&key, b"correct horse", &fast());
        let back = decrypt(&file, b"correct horse").expect("decrypts");
        assert_eq!(back.to_bytes(), key.to_bytes());

        let v: serde_json::Value = serde_json::from_str(&file.to_json()).expect("JSON");
        assert_eq!(v["version"], 3);
        assert_eq!(v["address"], hex::encode(key.address().0));
        assert!(uuid::Uuid::parse_str(v["id"].as_str().expect("id")).is_ok());
        let c = &v["crypto"];
        assert_eq!(c["cipher"], "aes-128-ctr");
        assert_eq!(c["kdf"], "scrypt");
        assert_eq!(c["kdfparams"]["n"], 1024);
        assert_eq!(c["kdfparams"]["r"], 8);
        assert_eq!(c["kdfparams"]["p"], 1);
        assert_eq!(c["kdfparams"]["dklen"], 32);
        assert_eq!(c["kdfparams"]["salt"].as_str().map(str::len), Some(64));
        assert_eq!(c["cipherparams"]["iv"].as_str().map(str::len), Some(32));
        assert_eq!(c["ciphertext"].as_str().map(str::len), Some(64));
        assert_eq!(c["mac"].as_str().map(str::len), Some(64));

        let reparsed = KeystoreFile::from_json(&file.to_json()).expect("reparses");
        assert_eq!(reparsed, file);
        // Fresh salt and IV each time: the same key and passphrase never give the same file.
        let again = encrypt(&key, b"correct horse", &fast());
        assert_ne!(again.crypto.ciphertext, file.crypto.ciphertext);
        assert_ne!(again.id, file.id);
    }

    #[test]
    fn mac_is_keccak_of_the_second_half_of_the_derived_key_and_the_ciphertext() {
        let key = SecretKey::from_seed("mac layout");
        let file = encrypt(&key, b"pw", &fast());
        let derived = fast().derive(b"pw", &file.crypto.kdfparams.salt);
        let mac = Hash::keccak_concat(&[&derived[16..], &file.crypto.ciphertext]);
        assert_eq!(file.crypto.mac, mac.0.to_vec());
        let mut plain = file.crypto.ciphertext.clone();
        let mut cipher =
            Aes128Ctr::new_from_slices(&derived[..16], &file.crypto.cipherparams.iv).expect("key");
        cipher.apply_keystream(&mut plain);
        assert_eq!(plain, key.to_bytes().to_vec());
    }

    #[test]
    fn wrong_passphrase_and_tampering_fail_the_mac() {
        let key = SecretKey::from_seed("tamper");
        let file = encrypt(&key, b"right", &fast());
        assert!(matches!(
            decrypt(&file, b"wrong"),
            Err(KeystoreError::MacMismatch)
        ));
        let mut tampered = file.clone();
        tampered.crypto.ciphertext[0] ^= 1;
        assert!(matches!(
            decrypt(&tampered, b"right"),
            Err(KeystoreError::MacMismatch)
        ));
        let mut tampered = file.clone();
        tampered.crypto.kdfparams.salt[0] ^= 1;
        assert!(matches!(
            decrypt(&tampered, b"right"),
            Err(KeystoreError::MacMismatch)
        ));
        let mut tampered = file;
        tampered.crypto.mac.truncate(31);
        assert!(matches!(
            decrypt(&tampered, b"right"),
            Err(KeystoreError::MacMismatch)
        ));
    }

    #[test]
    fn address_must_match_the_key() {
        let key = SecretKey::from_seed("address");
        let mut file = encrypt(&key, b"pw", &fast());
        let other = SecretKey::from_seed("someone else").address();
        file.address = Some(hex::encode(other.0));
        match decrypt(&file, b"pw") {
            Err(KeystoreError::AddressMismatch { file, key: k }) => {
                assert_eq!((file, k), (other, key.address()));
            }
            other => panic!("expected an address mismatch, got {other:?}"),
        }
        file.address = Some("0xnot-hex".into());
        assert!(matches!(
            decrypt(&file, b"pw"),
            Err(KeystoreError::BadAddress(a)) if a == "0xnot-hex"
        ));
        // Absent (as in the spec's own vector) or 0x-prefixed is fine.
        file.address = None;
        assert!(decrypt(&file, b"pw").is_ok());
        file.address = Some(key.address().to_string());
        assert!(decrypt(&file, b"pw").is_ok());
    }

    #[test]
    fn a_secret_off_the_curve_is_rejected_after_the_mac() {
        let params = fast();
        let key = SecretKey::from_seed("curve");
        let mut file = encrypt(&key, b"pw", &params);
        // Encrypt 0xff…ff (above the group order) with a correct MAC.
        let derived = params.derive(b"pw", &file.crypto.kdfparams.salt);
        let mut ciphertext = vec![0xff; 32];
        apply_aes_ctr(&derived, &file.crypto.cipherparams.iv, &mut ciphertext);
        file.crypto.mac = Hash::keccak_concat(&[&derived[16..], &ciphertext])
            .0
            .to_vec();
        file.crypto.ciphertext = ciphertext;
        file.address = None;
        assert!(matches!(
            decrypt(&file, b"pw"),
            Err(KeystoreError::NotOnCurve)
        ));
    }

    #[test]
    fn hostile_kdf_params_are_rejected_before_any_work() {
        let key = SecretKey::from_seed("hostile");
        let file = encrypt(&key, b"pw", &fast());
        let with = |f: &dyn Fn(&mut KdfParams)| {
            let mut file = file.clone();
            f(&mut file.crypto.kdfparams);
            decrypt(&file, b"pw").expect_err("hostile parameters are rejected")
        };
        assert!(matches!(
            with(&|k| k.n = 1000),
            KeystoreError::ScryptNNotPowerOfTwo(1000)
        ));
        assert!(matches!(
            with(&|k| k.n = 0),
            KeystoreError::ScryptNNotPowerOfTwo(0)
        ));
        assert!(matches!(
            with(&|k| k.n = 1 << 21),
            KeystoreError::ScryptNTooLarge { n, .. } if n == 1 << 21
        ));
        assert!(matches!(
            with(&|k| k.n = 1 << 62),
            KeystoreError::ScryptNTooLarge { .. }
        ));
        assert!(matches!(
            with(&|k| k.dklen = 64),
            KeystoreError::BadDklen(64)
        ));
        assert!(matches!(
            with(&|k| k.r = 0),
            KeystoreError::ScryptZeroRp { r: 0, p: 1 }
        ));
        // 2^20 · 8 · 128 bytes is a gibibyte; r = 2^31 with a small n is as bad.
        assert!(matches!(
            with(&|k| {
                k.n = 1 << 20;
                k.r = 8;
            }),
            KeystoreError::ScryptTooCostly { .. }
        ));
        assert!(matches!(
            with(&|k| {
                k.n = 2;
                k.r = 1 << 31;
            }),
            KeystoreError::ScryptTooCostly { .. }
        ));
        assert!(matches!(
            with(&|k| k.p = u32::MAX),
            KeystoreError::ScryptTooCostly { .. }
        ));
        // The standard parameters and the spec vector's are within the bounds.
        assert_eq!(
            ScryptParams::new(1 << 18, 8, 1).ok(),
            Some(ScryptParams::STANDARD)
        );
        assert!(ScryptParams::new(1 << 18, 1, 8).is_ok());
    }

    #[test]
    fn unsupported_names_and_bad_json_say_what_was_wrong() {
        let v = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut value: serde_json::Value =
                serde_json::from_str(SPEC_VECTOR).expect("vector JSON");
            f(&mut value);
            KeystoreFile::from_json(&value.to_string())
                .and_then(|file| decrypt(&file, b"testpassword"))
                .expect_err("rejected")
        };
        let pbkdf2 = v(&|j| {
            j["crypto"]["kdf"] = "pbkdf2".into();
            j["crypto"]["kdfparams"] = serde_json::json!({"c": 262144, "prf": "hmac-sha256"});
        });
        assert!(matches!(&pbkdf2, KeystoreError::UnsupportedKdf(k) if k == "pbkdf2"));
        assert!(pbkdf2.to_string().contains("\"pbkdf2\""), "{pbkdf2}");
        let cbc = v(&|j| j["crypto"]["cipher"] = "aes-128-cbc".into());
        assert!(matches!(&cbc, KeystoreError::UnsupportedCipher(c) if c == "aes-128-cbc"));
        let v1 = v(&|j| j["version"] = 1.into());
        assert!(matches!(v1, KeystoreError::UnsupportedVersion(1)));
        let no_mac = v(&|j| {
            j["crypto"].as_object_mut().expect("object").remove("mac");
        });
        assert!(
            no_mac.to_string().contains("missing field `mac`"),
            "{no_mac}"
        );
        let bad_iv = v(&|j| j["crypto"]["cipherparams"]["iv"] = "zz".into());
        assert!(
            bad_iv.to_string().contains("invalid hex \"zz\""),
            "{bad_iv}"
        );
        let short_iv = v(&|j| j["crypto"]["cipherparams"]["iv"] = "00".into());
        assert!(matches!(short_iv, KeystoreError::BadIvLength(1)));
        let long = v(&|j| j["crypto"]["ciphertext"] = "00".repeat(33).into());
        assert!(matches!(long, KeystoreError::BadCiphertextLength(33)));
        let not_json = KeystoreFile::from_json("{\"version\": 3,").expect_err("rejected");
        assert!(matches!(not_json, KeystoreError::Json(_)));
        // Old geth files spell the section `Crypto`.
        let capital = SPEC_VECTOR.replace("\"crypto\"", "\"Crypto\"");
        assert!(KeystoreFile::from_json(&capital).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn save_writes_mode_0600_and_never_overwrites() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keystore").join("a.json");
        let key = SecretKey::from_seed("save");
        let file = encrypt(&key, b"pw", &fast());
        save(&path, &file).expect("saves");
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().expect("parent"))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(load(&path).expect("loads"), file);

        let other = encrypt(&SecretKey::from_seed("other"), b"pw", &fast());
        assert!(matches!(
            save(&path, &other),
            Err(KeystoreError::AlreadyExists(p)) if p == path
        ));
        assert_eq!(load(&path).expect("still the first"), file);
    }

    #[test]
    fn read_key_takes_keystore_files_and_dev_hex_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = SecretKey::from_seed("read_key");
        let keystore = dir.path().join("k.json");
        save(&keystore, &encrypt(&key, b"pass phrase", &fast())).expect("saves");

        let pw_file = dir.path().join("pw");
        std::fs::write(&pw_file, "pass phrase\n").expect("write");
        let read = read_key(&keystore, &PassphraseSource::File(pw_file.clone())).expect("reads");
        assert_eq!(read.address(), key.address());
        std::fs::write(&pw_file, "pass phrase\r\n").expect("write");
        assert!(read_key(&keystore, &PassphraseSource::File(pw_file.clone())).is_ok());
        // Only one newline is stripped: the passphrase is otherwise taken as written.
        std::fs::write(&pw_file, "pass phrase\n\n").expect("write");
        assert!(matches!(
            read_key(&keystore, &PassphraseSource::File(pw_file)),
            Err(KeystoreError::MacMismatch)
        ));
        assert!(matches!(
            read_key(
                &keystore,
                &PassphraseSource::Env("JOULE_TEST_SURELY_UNSET".into())
            ),
            Err(KeystoreError::PassphraseEnv(v)) if v == "JOULE_TEST_SURELY_UNSET"
        ));

        // What `joule dev` writes: 0x-hex and a newline. No passphrase is asked for.
        let plain = dir.path().join("dev-requester.key");
        std::fs::write(&plain, format!("0x{}\n", hex::encode(key.to_bytes()))).expect("write");
        let read = read_key(
            &plain,
            &PassphraseSource::Env("JOULE_TEST_SURELY_UNSET".into()),
        )
        .expect("reads the plain key");
        assert_eq!(read.address(), key.address());
        std::fs::write(&plain, "0x1234\n").expect("write");
        assert!(matches!(
            read_key(&plain, &PassphraseSource::Prompt),
            Err(KeystoreError::PlainKey(_))
        ));

        let big = dir.path().join("big");
        std::fs::write(&big, vec![b' '; MAX_FILE_LEN as usize + 1]).expect("write");
        assert!(matches!(
            read_key(&big, &PassphraseSource::Prompt),
            Err(KeystoreError::TooLarge { .. })
        ));
    }

    #[test]
    fn read_key_rejects_hostile_params_before_asking_for_a_passphrase() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut file = encrypt(&SecretKey::from_seed("ask"), b"pw", &fast());
        file.crypto.kdfparams.n = 1 << 30;
        let path = dir.path().join("hostile.json");
        save(&path, &file).expect("saves");
        // `Prompt` would fail without a terminal; the parameters are refused first.
        assert!(matches!(
            read_key(&path, &PassphraseSource::Prompt),
            Err(KeystoreError::ScryptNTooLarge { .. })
        ));
    }

    #[test]
    fn a_given_passphrase_is_not_in_debug_output() {
        let source = PassphraseSource::Given("hunter2".into());
        assert_eq!(format!("{source:?}"), "Given(..)");
    }

    #[test]
    fn new_passphrases_are_never_empty() {
        assert!(matches!(
            PassphraseSource::Given(String::new()).read_new(),
            Err(KeystoreError::EmptyPassphrase)
        ));
        assert_eq!(
            PassphraseSource::Given("x".into())
                .read_new()
                .ok()
                .as_deref(),
            Some("x")
        );
    }
}
