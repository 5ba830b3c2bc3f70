//! The on-disk layer of the compiled-module cache: artifacts this node compiled itself.
//!
//! wasmtime's `Module::deserialize` trusts its input completely (it maps the bytes as machine
//! code), so it must never see bytes from anywhere else. Each artifact file is
//! `MAGIC ‖ tag ‖ serialized module`, where `tag = Keccak-256(key ‖ code hash ‖ serialized
//! module)` and `key` is 32 random bytes this node generated into `artifact.key` (mode 0600) in the
//! same directory. A file is only deserialized when its tag verifies under the node's key, so a
//! file someone else put there (without reading our key) is rejected and recompiled. Keccak is
//! not length-extendable, so the keyed hash is a MAC. wasmtime additionally refuses artifacts
//! from a different wasmtime version or engine configuration; those are recompiled too.

use crate::Hash32;
use sha3::{Digest, Keccak256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{Engine, Module};

/// Version 2: modules are compiled with stack metering (`stack.rs`); version-1 artifacts lack it
/// and are recompiled.
const MAGIC: &[u8; 8] = b"JOULEAR2";
const KEY_FILE: &str = "artifact.key";

/// Why an artifact could not be loaded or stored. The cache falls back to compiling.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArtifactError {
    /// Reading or writing the file failed.
    #[error("artifact I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The file is too short or has the wrong magic.
    #[error("artifact {0} has no valid header")]
    BadHeader(PathBuf),
    /// The tag does not verify: not written by this node (or corrupted).
    #[error("artifact {0} was not written by this node (bad tag)")]
    BadTag(PathBuf),
    /// wasmtime refused the artifact (other version or engine configuration).
    #[error("wasmtime refused artifact {path}: {message}")]
    Refused {
        /// The file.
        path: PathBuf,
        /// wasmtime's error.
        message: String,
    },
    /// wasmtime could not serialize the module.
    #[error("serializing module: {0}")]
    Serialize(String),
}

/// A directory of artifacts tagged with this node's key.
pub(crate) struct ArtifactStore {
    dir: PathBuf,
    key: [u8; 32],
    tmp_counter: AtomicU64,
}

impl std::fmt::Debug for ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ArtifactStore {
    /// Opens (creating if needed) the directory and this node's key.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let key_path = dir.join(KEY_FILE);
        let key = match fs::read(&key_path) {
            Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not 32 bytes", key_path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                let mut options = fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                options.open(&key_path)?.write_all(&key)?;
                key
            }
            Err(e) => return Err(e),
        };
        Ok(Self {
            dir: dir.to_owned(),
            key,
            tmp_counter: AtomicU64::new(0),
        })
    }

    fn path(&self, code_hash: &Hash32) -> PathBuf {
        self.dir.join(format!("{}.cwasm", code_hash.to_hex()))
    }

    fn tag(&self, code_hash: &Hash32, artifact: &[u8]) -> [u8; 32] {
        let mut h = Keccak256::new();
        h.update(self.key);
        h.update(code_hash.0);
        h.update(artifact);
        h.finalize().into()
    }

    /// The module for `code_hash`, if this node stored it before; `Ok(None)` if there is none.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        code_hash: &Hash32,
    ) -> Result<Option<Module>, ArtifactError> {
        let path = self.path(code_hash);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let header = MAGIC.len() + 32;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ArtifactError::BadHeader(path));
        }
        let (tag, artifact) = bytes[MAGIC.len()..].split_at(32);
        if tag != self.tag(code_hash, artifact) {
            return Err(ArtifactError::BadTag(path));
        }
        // SAFETY: `Module::deserialize` requires bytes produced by `Module::serialize` of a
        // compatible wasmtime that nobody else could have tampered with. These bytes were read
        // into memory once (no later change of the file can affect them), and the tag just
        // checked proves they were written by `store` below on this node: computing the tag
        // requires this node's 32-byte key, which is in a 0600 file in a directory the node owns.
        // Version/configuration mismatches are detected by wasmtime itself and return an error.
        #[allow(unsafe_code)]
        let module = unsafe { Module::deserialize(engine, artifact) };
        module.map(Some).map_err(|e| ArtifactError::Refused {
            path,
            message: e.to_string(),
        })
    }

    /// Stores `module` for `code_hash`, atomically (write to a temporary file, then rename).
    pub(crate) fn store(&self, code_hash: &Hash32, module: &Module) -> Result<(), ArtifactError> {
        let artifact = module
            .serialize()
            .map_err(|e| ArtifactError::Serialize(e.to_string()))?;
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!(
            ".{}.{}.{n}.tmp",
            code_hash.to_hex(),
            std::process::id()
        ));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&self.tag(code_hash, &artifact))?;
        file.write_all(&artifact)?;
        file.sync_all()?;
        fs::rename(&tmp, self.path(code_hash))?;
        Ok(())
    }
}
