//! The provider's restart-safe record: which jobs it holds, the result and salt of each before
//! it commits, the last block it read, and what it earned.
//!
//! One JSON file, replaced atomically (write a temporary file, fsync it, rename it over the old
//! one, fsync the directory), so a `kill -9` leaves either the old record or the new one. The
//! worker writes the salt and result *before* it sends the commitment: after a crash it can
//! always reveal what it committed to, and it reads the chain before sending anything again,
//! so nothing is sent twice. Revealable outputs are kept beside it in `outputs/<job>.bin`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use joule_ledger::{Address, Amount, BlockNumber, Hash, JobResult};
use serde::{Deserialize, Serialize};

/// Version of the journal's layout.
pub const JOURNAL_VERSION: u32 = 1;

/// One job the provider holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEntry {
    /// Block of the match.
    pub matched_at: BlockNumber,
    /// The result it will commit to and reveal, once the job ran.
    pub result: Option<JobResult>,
    /// The commitment's salt, chosen before the commitment is sent.
    pub salt: Option<Hash>,
    /// Whether `outputs/<job>.bin` holds the output to reveal inline.
    pub has_output: bool,
    /// Why this node could not produce a result (it then sends nothing for the job).
    pub failed: Option<String>,
}

/// The provider's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalState {
    /// Layout version.
    pub version: u32,
    /// The provider it belongs to.
    pub provider: Address,
    /// Last block whose events it has applied.
    pub last_block: BlockNumber,
    /// Jobs not yet final, by id.
    pub jobs: BTreeMap<Hash, JobEntry>,
    /// Credits paid to it for results, in total.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub earned: Amount,
    /// Stake taken from it, in total.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub slashed: Amount,
    /// Jobs that ended with it paid.
    pub jobs_paid: u64,
    /// Jobs that ended without pay (its result judged wrong, a no-show, or released).
    #[serde(default)]
    pub jobs_unpaid: u64,
}

/// The journal on disk.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// What it holds; change it, then [`Journal::save`].
    pub state: JournalState,
}

impl Journal {
    /// Opens the journal in `dir` for `provider`, starting a new one at block `head` if there is
    /// none. A journal of another provider or an unknown layout is refused.
    pub fn open(dir: &Path, provider: Address, head: BlockNumber) -> anyhow::Result<Self> {
        fs::create_dir_all(dir.join("outputs"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("journal.json");
        let state = match fs::read(&path) {
            Ok(bytes) => {
                let state: JournalState = serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading the provider journal {}", path.display()))?;
                if state.version != JOURNAL_VERSION {
                    anyhow::bail!(
                        "provider journal {} has layout version {}, this node reads {JOURNAL_VERSION}",
                        path.display(),
                        state.version
                    );
                }
                if state.provider != provider {
                    anyhow::bail!(
                        "provider journal {} belongs to {}, not to this node's provider key {provider}",
                        path.display(),
                        state.provider
                    );
                }
                state
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => JournalState {
                version: JOURNAL_VERSION,
                provider,
                last_block: head,
                jobs: BTreeMap::new(),
                earned: 0,
                slashed: 0,
                jobs_paid: 0,
                jobs_unpaid: 0,
            },
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
        };
        let journal = Journal {
            dir: dir.to_path_buf(),
            state,
        };
        journal.save()?;
        Ok(journal)
    }

    /// Writes the state durably and atomically.
    pub fn save(&self) -> anyhow::Result<()> {
        let text = serde_json::to_vec_pretty(&self.state).expect("journal state serializes; qed");
        write_atomic(&self.dir, "journal.json", &text)
    }

    fn output_name(job: &Hash) -> String {
        format!("{}.bin", hex::encode(job.as_bytes()))
    }

    /// Stores the output of `job` durably (before the journal says it is there).
    pub fn save_output(&self, job: &Hash, output: &[u8]) -> anyhow::Result<()> {
        write_atomic(&self.dir.join("outputs"), &Self::output_name(job), output)
    }

    /// The stored output of `job`.
    pub fn output(&self, job: &Hash) -> anyhow::Result<Vec<u8>> {
        let path = self.dir.join("outputs").join(Self::output_name(job));
        fs::read(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// Deletes the stored output of `job`, if any.
    pub fn remove_output(&self, job: &Hash) {
        let _ = fs::remove_file(self.dir.join("outputs").join(Self::output_name(job)));
    }
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let mut f = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(f);
    fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopens_what_it_saved_and_refuses_another_providers_journal() {
        let dir = tempfile::tempdir().unwrap();
        let me = Address([1; 20]);
        let mut j = Journal::open(dir.path(), me, 7).unwrap();
        assert_eq!(j.state.last_block, 7);
        let job = Hash::keccak(b"job");
        j.state.jobs.insert(
            job,
            JobEntry {
                matched_at: 8,
                result: Some(JobResult {
                    status: 0,
                    output_hash: Hash::keccak(b"out"),
                    fuel_used: 42,
                }),
                salt: Some(Hash::keccak(b"salt")),
                has_output: true,
                failed: None,
            },
        );
        j.state.last_block = 9;
        j.state.earned = u128::MAX;
        j.save_output(&job, b"out").unwrap();
        j.save().unwrap();

        let again = Journal::open(dir.path(), me, 100).unwrap();
        assert_eq!(again.state, j.state);
        assert_eq!(again.output(&job).unwrap(), b"out");
        again.remove_output(&job);
        assert!(again.output(&job).is_err());

        let err = Journal::open(dir.path(), Address([2; 20]), 0).unwrap_err();
        assert!(err.to_string().contains("belongs to"), "{err}");
    }

    #[test]
    fn a_damaged_journal_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("journal.json"), b"{not json").unwrap();
        let err = Journal::open(dir.path(), Address([1; 20]), 0).unwrap_err();
        assert!(format!("{err:#}").contains("provider journal"), "{err:#}");
    }
}
