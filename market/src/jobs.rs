//! Job tracking: a plain state machine per job, driven by [`JobEvent`]s the node derives from
//! chain events, for the requester ([`JobTracker`]) and the provider ([`ProviderJobs`]).
//!
//! | event | legal in phase | other conditions | phase after |
//! |---|---|---|---|
//! | `Matched{provider, price}` | posted, matched, committed | provider not on the job, fewer than `k` on it | matched (committed stays) |
//! | `Committed{provider}` | matched, committed | provider on the job, not committed | committed |
//! | `Revealed{provider, result}` | committed, revealed | provider committed, not revealed | revealed |
//! | `Disputed` | revealed | | disputed |
//! | `Paid{provider, amount}` | revealed, disputed | provider on the job | unchanged |
//! | `Settled` | revealed, disputed | | settled (final) |
//! | `Expired` | posted, matched, committed, disputed | | expired (final) |
//! | `Slashed{provider, amount}` | any | provider on the job | unchanged |
//! | `Refunded{amount}` | any but posted | | unchanged |
//!
//! `Disputed` covers a disagreement, a challenge and an audit; arbitration ends in `Settled`, or
//! in `Expired` if the chain cannot re-execute the job and releases everyone. `Slashed` and
//! `Refunded` are allowed in every phase after a match because the chain slashes a no-show and
//! refunds its escrow at a deadline while the others go on, and does so again when it settles.
//!
//! An event that breaks these rules is refused with a [`JobError`] and changes nothing.
//!
//! The node derives one event per chain event of the job, in receipt order: `Event::Matched` →
//! `Matched`; `Event::ResultSubmitted` → `Committed` (no result) or `Revealed`;
//! `Event::Slashed` → `Slashed`; `Event::Paid` of kind `payment` → `Paid`, of kind `refund` →
//! `Refunded` (a challenger's `bond` is not the job's money); `Event::JobPhase` `arbitrating` →
//! `Disputed`, `settled` → `Settled`, `expired` → `Expired` (the chain announces a phase after
//! the payments, slashes and refunds of the same step). The chain's `committing`, `revealing`
//! and `challengeable` phases need no event here: a job is committed or revealed once a provider
//! did so.

use std::collections::BTreeMap;
use std::fmt;

use joule_ledger::{Address, Amount, Bid, Hash, JobResult};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// The bid is out; no provider yet.
    Posted,
    /// At least one provider took it; none committed yet.
    Matched,
    /// At least one provider committed; no reveal yet.
    Committed,
    /// At least one provider revealed.
    Revealed,
    /// The chain is re-executing the job.
    Disputed,
    /// Paid and refunded (final).
    Settled,
    /// Nothing to settle (no delivery before a deadline, or arbitration released everyone);
    /// the requester was refunded (final).
    Expired,
}

impl Phase {
    /// Whether no event can move the job any more.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Settled | Phase::Expired)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Posted => "posted",
            Phase::Matched => "matched",
            Phase::Committed => "committed",
            Phase::Revealed => "revealed",
            Phase::Disputed => "disputed",
            Phase::Settled => "settled",
            Phase::Expired => "expired",
        })
    }
}

/// What the node tells a tracker, from the chain's events about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// A provider took the job at its offer price.
    Matched {
        /// The provider.
        provider: Address,
        /// Its price per fuel.
        price_per_fuel: Amount,
    },
    /// A provider committed to a result.
    Committed {
        /// The provider.
        provider: Address,
    },
    /// A provider revealed its result.
    Revealed {
        /// The provider.
        provider: Address,
        /// What it revealed.
        result: JobResult,
    },
    /// The chain started re-executing the job.
    Disputed,
    /// A provider was paid from the job's escrow.
    Paid {
        /// The provider.
        provider: Address,
        /// Credits paid.
        amount: Amount,
    },
    /// A provider's stake was slashed over this job.
    Slashed {
        /// The provider.
        provider: Address,
        /// Amount taken.
        amount: Amount,
    },
    /// Escrow went back to the requester.
    Refunded {
        /// Credits refunded.
        amount: Amount,
    },
    /// The job settled (final).
    Settled,
    /// The job ended with nothing to settle (final).
    Expired,
}

impl JobEvent {
    fn name(&self) -> &'static str {
        match self {
            JobEvent::Matched { .. } => "Matched",
            JobEvent::Committed { .. } => "Committed",
            JobEvent::Revealed { .. } => "Revealed",
            JobEvent::Disputed => "Disputed",
            JobEvent::Paid { .. } => "Paid",
            JobEvent::Slashed { .. } => "Slashed",
            JobEvent::Refunded { .. } => "Refunded",
            JobEvent::Settled => "Settled",
            JobEvent::Expired => "Expired",
        }
    }
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The event cannot happen in the job's phase.
    #[error("job {job}: {event} is not allowed in phase {phase}")]
    Illegal {
        /// The job.
        job: Hash,
        /// Its phase.
        phase: Phase,
        /// The event's name.
        event: &'static str,
    },
    /// The job already has all its replicas.
    #[error("job {job} already has its {replicas} replicas; {provider} cannot match")]
    Full {
        /// The job.
        job: Hash,
        /// Replicas asked.
        replicas: u8,
        /// The extra provider.
        provider: Address,
    },
    /// The provider is already on the job.
    #[error("provider {provider} is already on job {job}")]
    AlreadyMatched {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
    },
    /// The provider is not on the job.
    #[error("provider {provider} is not on job {job}")]
    NotMatched {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
    },
    /// The provider already committed.
    #[error("provider {provider} already committed on job {job}")]
    AlreadyCommitted {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
    },
    /// The provider reveals without having committed.
    #[error("provider {provider} reveals on job {job} without a commitment")]
    NotCommitted {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
    },
    /// The provider already revealed.
    #[error("provider {provider} already revealed on job {job}")]
    AlreadyRevealed {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
    },
    /// The tracker does not know the job.
    #[error("job {job} is not tracked")]
    UnknownJob {
        /// The job.
        job: Hash,
    },
    /// The tracker already tracks the job.
    #[error("job {job} is already tracked")]
    AlreadyTracked {
        /// The job.
        job: Hash,
    },
}

/// One provider's part in a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// The provider.
    pub provider: Address,
    /// Its price per fuel.
    pub price_per_fuel: Amount,
    /// Whether it committed.
    pub committed: bool,
    /// What it revealed.
    pub result: Option<JobResult>,
    /// What it was paid from the job's escrow.
    pub paid: Amount,
    /// What was slashed from it over this job.
    pub slashed: Amount,
}

/// A job's state. See the [module docs](self) for the transitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The job id (its bid's id).
    pub id: Hash,
    /// Who posted it.
    pub requester: Address,
    /// Replicas asked.
    pub replicas: u8,
    /// Where it stands.
    pub phase: Phase,
    /// Providers in match order.
    pub matched: Vec<Replica>,
    /// Refunded to the requester so far.
    pub refunded: Amount,
}

impl Job {
    /// A freshly posted job for `bid` (whose id is `id`).
    pub fn posted(id: Hash, bid: &Bid) -> Self {
        Job {
            id,
            requester: bid.requester,
            replicas: bid.replicas,
            phase: Phase::Posted,
            matched: Vec::new(),
            refunded: 0,
        }
    }

    /// A provider's part, if it is on the job.
    pub fn replica(&self, provider: &Address) -> Option<&Replica> {
        self.matched.iter().find(|r| r.provider == *provider)
    }

    /// The revealed result, if every reveal so far is the same one.
    pub fn agreed_result(&self) -> Option<JobResult> {
        let mut results = self.matched.iter().filter_map(|r| r.result);
        let first = results.next()?;
        results.all(|r| r == first).then_some(first)
    }

    fn index_of(&self, provider: &Address) -> Result<usize, JobError> {
        self.matched
            .iter()
            .position(|r| r.provider == *provider)
            .ok_or(JobError::NotMatched {
                job: self.id,
                provider: *provider,
            })
    }

    /// Applies an event; on error the job is unchanged. Returns the new phase.
    pub fn apply(&mut self, event: &JobEvent) -> Result<Phase, JobError> {
        use Phase::*;
        let illegal = || JobError::Illegal {
            job: self.id,
            phase: self.phase,
            event: event.name(),
        };
        let (job, phase) = (self.id, self.phase);
        match event {
            JobEvent::Matched {
                provider,
                price_per_fuel,
            } => {
                if !matches!(phase, Posted | Matched | Committed) {
                    return Err(illegal());
                }
                if self.replica(provider).is_some() {
                    return Err(JobError::AlreadyMatched {
                        job,
                        provider: *provider,
                    });
                }
                if self.matched.len() >= usize::from(self.replicas) {
                    return Err(JobError::Full {
                        job,
                        replicas: self.replicas,
                        provider: *provider,
                    });
                }
                self.matched.push(Replica {
                    provider: *provider,
                    price_per_fuel: *price_per_fuel,
                    committed: false,
                    result: None,
                    paid: 0,
                    slashed: 0,
                });
                self.phase = phase.max(Matched);
            }
            JobEvent::Committed { provider } => {
                if !matches!(phase, Matched | Committed) {
                    return Err(illegal());
                }
                let i = self.index_of(provider)?;
                if self.matched[i].committed {
                    return Err(JobError::AlreadyCommitted {
                        job,
                        provider: *provider,
                    });
                }
                self.matched[i].committed = true;
                self.phase = Committed;
            }
            JobEvent::Revealed { provider, result } => {
                if !matches!(phase, Committed | Revealed) {
                    return Err(illegal());
                }
                let i = self.index_of(provider)?;
                let replica = &mut self.matched[i];
                if !replica.committed {
                    return Err(JobError::NotCommitted {
                        job,
                        provider: *provider,
                    });
                }
                if replica.result.is_some() {
                    return Err(JobError::AlreadyRevealed {
                        job,
                        provider: *provider,
                    });
                }
                replica.result = Some(*result);
                self.phase = Revealed;
            }
            JobEvent::Disputed => {
                if phase != Revealed {
                    return Err(illegal());
                }
                self.phase = Disputed;
            }
            JobEvent::Paid { provider, amount } => {
                if !matches!(phase, Revealed | Disputed) {
                    return Err(illegal());
                }
                let i = self.index_of(provider)?;
                let replica = &mut self.matched[i];
                replica.paid = replica.paid.saturating_add(*amount);
            }
            JobEvent::Slashed { provider, amount } => {
                let i = self.index_of(provider)?;
                let replica = &mut self.matched[i];
                replica.slashed = replica.slashed.saturating_add(*amount);
            }
            JobEvent::Refunded { amount } => {
                if phase == Posted {
                    return Err(illegal());
                }
                self.refunded = self.refunded.saturating_add(*amount);
            }
            JobEvent::Settled => {
                if !matches!(phase, Revealed | Disputed) {
                    return Err(illegal());
                }
                self.phase = Settled;
            }
            JobEvent::Expired => {
                if !matches!(phase, Posted | Matched | Committed | Disputed) {
                    return Err(illegal());
                }
                self.phase = Expired;
            }
        }
        Ok(self.phase)
    }
}

/// A requester's jobs (or any set of jobs a node follows), by id.
#[derive(Debug, Clone, Default)]
pub struct JobTracker {
    jobs: BTreeMap<Hash, Job>,
}

impl JobTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        JobTracker::default()
    }

    /// Starts tracking the job of a posted bid.
    pub fn post(&mut self, id: Hash, bid: &Bid) -> Result<(), JobError> {
        if self.jobs.contains_key(&id) {
            return Err(JobError::AlreadyTracked { job: id });
        }
        self.jobs.insert(id, Job::posted(id, bid));
        Ok(())
    }

    /// Applies a chain event to a tracked job.
    pub fn apply(&mut self, job: &Hash, event: &JobEvent) -> Result<Phase, JobError> {
        self.jobs
            .get_mut(job)
            .ok_or(JobError::UnknownJob { job: *job })?
            .apply(event)
    }

    /// A tracked job.
    pub fn get(&self, job: &Hash) -> Option<&Job> {
        self.jobs.get(job)
    }

    /// Every tracked job, by id.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> + '_ {
        self.jobs.values()
    }

    /// Jobs not in a final phase.
    pub fn active(&self) -> usize {
        self.jobs.values().filter(|j| !j.phase.is_final()).count()
    }

    /// Forgets jobs in a final phase and returns them (to archive), bounding memory.
    pub fn prune_final(&mut self) -> Vec<Job> {
        let done: Vec<Hash> = self
            .jobs
            .values()
            .filter(|j| j.phase.is_final())
            .map(|j| j.id)
            .collect();
        done.iter().filter_map(|id| self.jobs.remove(id)).collect()
    }
}

/// A provider's jobs and what they earned it.
#[derive(Debug, Clone)]
pub struct ProviderJobs {
    provider: Address,
    tracker: JobTracker,
    earned: Amount,
    slashed: Amount,
}

impl ProviderJobs {
    /// An empty view for `provider`.
    pub fn new(provider: Address) -> Self {
        ProviderJobs {
            provider,
            tracker: JobTracker::new(),
            earned: 0,
            slashed: 0,
        }
    }

    /// The chain matched this provider to the job of `bid` at `price_per_fuel`: starts tracking
    /// it (if new) and records the match.
    pub fn on_matched(
        &mut self,
        id: Hash,
        bid: &Bid,
        price_per_fuel: Amount,
    ) -> Result<Phase, JobError> {
        if self.tracker.get(&id).is_none() {
            self.tracker.post(id, bid)?;
        }
        self.tracker.apply(
            &id,
            &JobEvent::Matched {
                provider: self.provider,
                price_per_fuel,
            },
        )
    }

    /// Applies a chain event to one of its jobs, adding its payments and slashes to the totals.
    pub fn apply(&mut self, job: &Hash, event: &JobEvent) -> Result<Phase, JobError> {
        let phase = self.tracker.apply(job, event)?;
        match event {
            JobEvent::Paid { provider, amount } if *provider == self.provider => {
                self.earned = self.earned.saturating_add(*amount);
            }
            JobEvent::Slashed { provider, amount } if *provider == self.provider => {
                self.slashed = self.slashed.saturating_add(*amount);
            }
            _ => {}
        }
        Ok(phase)
    }

    /// The provider.
    pub fn provider(&self) -> Address {
        self.provider
    }
    /// Its jobs.
    pub fn jobs(&self) -> &JobTracker {
        &self.tracker
    }
    /// Total paid to it over every job seen, pruned ones included.
    pub fn earnings(&self) -> Amount {
        self.earned
    }
    /// Total slashed from it over every job seen.
    pub fn slashed(&self) -> Amount {
        self.slashed
    }
    /// Forgets final jobs (totals are kept).
    pub fn prune_final(&mut self) -> Vec<Job> {
        self.tracker.prune_final()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{addr, bid};

    fn result(n: u8) -> JobResult {
        JobResult {
            status: 0,
            output_hash: Hash::keccak(&[n]),
            fuel_used: 500,
        }
    }

    fn job() -> Job {
        Job::posted(Hash::keccak(b"job"), &bid(addr(1), 0)) // 2 replicas
    }

    fn matched(p: u32) -> JobEvent {
        JobEvent::Matched {
            provider: addr(p),
            price_per_fuel: 2,
        }
    }
    fn committed(p: u32) -> JobEvent {
        JobEvent::Committed { provider: addr(p) }
    }
    fn revealed(p: u32, r: u8) -> JobEvent {
        JobEvent::Revealed {
            provider: addr(p),
            result: result(r),
        }
    }
    fn paid(p: u32, amount: Amount) -> JobEvent {
        JobEvent::Paid {
            provider: addr(p),
            amount,
        }
    }
    fn slashed(p: u32, amount: Amount) -> JobEvent {
        JobEvent::Slashed {
            provider: addr(p),
            amount,
        }
    }

    fn run(job: &mut Job, events: &[JobEvent]) {
        for e in events {
            job.apply(e).unwrap();
        }
    }

    #[test]
    fn the_happy_path() {
        let mut j = job();
        assert_eq!(j.apply(&matched(10)), Ok(Phase::Matched));
        assert_eq!(j.apply(&committed(10)), Ok(Phase::Committed));
        // The second replica matches after the first committed.
        assert_eq!(j.apply(&matched(11)), Ok(Phase::Committed));
        assert_eq!(j.apply(&committed(11)), Ok(Phase::Committed));
        assert_eq!(j.apply(&revealed(10, 1)), Ok(Phase::Revealed));
        assert_eq!(j.apply(&revealed(11, 1)), Ok(Phase::Revealed));
        assert_eq!(j.agreed_result(), Some(result(1)));
        run(
            &mut j,
            &[
                paid(10, 1_000),
                paid(11, 1_000),
                JobEvent::Refunded { amount: 2_000 },
            ],
        );
        assert_eq!(j.apply(&JobEvent::Settled), Ok(Phase::Settled));
        assert_eq!(j.replica(&addr(11)).unwrap().paid, 1_000);
        assert_eq!(j.refunded, 2_000);
        assert!(j.phase.is_final());
    }

    #[test]
    fn disputes_end_in_settlement_or_release() {
        let disputed = || {
            let mut j = job();
            run(
                &mut j,
                &[
                    matched(10),
                    matched(11),
                    committed(10),
                    committed(11),
                    revealed(10, 1),
                    revealed(11, 2),
                ],
            );
            assert_eq!(j.agreed_result(), None);
            assert_eq!(j.apply(&JobEvent::Disputed), Ok(Phase::Disputed));
            j
        };
        let mut j = disputed();
        run(&mut j, &[slashed(11, 300), paid(10, 1_000)]);
        assert_eq!(j.apply(&JobEvent::Settled), Ok(Phase::Settled));
        assert_eq!(j.replica(&addr(11)).unwrap().slashed, 300);
        // The chain could not re-execute: everyone released.
        let mut j = disputed();
        run(&mut j, &[JobEvent::Refunded { amount: 4_000 }]);
        assert_eq!(j.apply(&JobEvent::Expired), Ok(Phase::Expired));
    }

    #[test]
    fn expiry_ends_jobs_without_reveals_and_no_shows_are_slashed_on_the_way() {
        for events in [
            vec![],
            vec![matched(10)],
            vec![matched(10), committed(10)],
            // 11 missed the commit deadline: slashed and its escrow refunded, 10 goes on.
            vec![
                matched(10),
                matched(11),
                committed(10),
                slashed(11, 50),
                JobEvent::Refunded { amount: 2_000 },
            ],
        ] {
            let mut j = job();
            run(&mut j, &events);
            assert_eq!(j.apply(&JobEvent::Expired), Ok(Phase::Expired));
        }
    }

    #[test]
    fn illegal_transitions_are_refused_and_change_nothing() {
        let id = job().id;
        let illegal = |phase, event| JobError::Illegal {
            job: id,
            phase,
            event,
        };
        let mut j = job();
        for (event, name) in [
            (committed(10), "Committed"),
            (revealed(10, 1), "Revealed"),
            (JobEvent::Disputed, "Disputed"),
            (JobEvent::Settled, "Settled"),
            (JobEvent::Refunded { amount: 1 }, "Refunded"),
            (paid(10, 1), "Paid"),
        ] {
            assert_eq!(j.apply(&event), Err(illegal(Phase::Posted, name)));
        }
        assert_eq!(
            j.apply(&slashed(10, 1)),
            Err(JobError::NotMatched {
                job: id,
                provider: addr(10)
            })
        );
        assert_eq!(j, job());

        run(&mut j, &[matched(10)]);
        assert_eq!(
            j.apply(&matched(10)),
            Err(JobError::AlreadyMatched {
                job: id,
                provider: addr(10)
            })
        );
        assert_eq!(
            j.apply(&committed(12)),
            Err(JobError::NotMatched {
                job: id,
                provider: addr(12)
            })
        );
        run(&mut j, &[matched(11)]);
        assert_eq!(
            j.apply(&matched(12)),
            Err(JobError::Full {
                job: id,
                replicas: 2,
                provider: addr(12)
            })
        );
        assert_eq!(
            j.apply(&revealed(10, 1)),
            Err(illegal(Phase::Matched, "Revealed"))
        );
        assert_eq!(j.apply(&paid(10, 1)), Err(illegal(Phase::Matched, "Paid")));
        run(&mut j, &[committed(10)]);
        assert_eq!(
            j.apply(&committed(10)),
            Err(JobError::AlreadyCommitted {
                job: id,
                provider: addr(10)
            })
        );
        assert_eq!(
            j.apply(&revealed(11, 1)),
            Err(JobError::NotCommitted {
                job: id,
                provider: addr(11)
            })
        );
        run(&mut j, &[revealed(10, 1)]);
        assert_eq!(
            j.apply(&revealed(10, 1)),
            Err(JobError::AlreadyRevealed {
                job: id,
                provider: addr(10)
            })
        );
        assert_eq!(
            j.apply(&committed(11)),
            Err(illegal(Phase::Revealed, "Committed"))
        );
        assert_eq!(
            j.apply(&matched(12)),
            Err(illegal(Phase::Revealed, "Matched"))
        );
        assert_eq!(
            j.apply(&JobEvent::Expired),
            Err(illegal(Phase::Revealed, "Expired"))
        );
        assert_eq!(
            j.apply(&paid(99, 5)),
            Err(JobError::NotMatched {
                job: id,
                provider: addr(99)
            })
        );
        run(&mut j, &[paid(10, 5), JobEvent::Settled]);
        for e in [
            matched(12),
            committed(11),
            revealed(11, 1),
            JobEvent::Disputed,
            paid(10, 1),
            JobEvent::Settled,
            JobEvent::Expired,
        ] {
            let before = j.clone();
            assert!(matches!(
                j.apply(&e),
                Err(JobError::Illegal {
                    phase: Phase::Settled,
                    ..
                })
            ));
            assert_eq!(j, before);
        }
    }

    #[test]
    fn trackers_follow_many_jobs_and_a_provider_sums_its_earnings() {
        let b = bid(addr(1), 0);
        let (a, c) = (Hash::keccak(b"a"), Hash::keccak(b"c"));
        let mut requester = JobTracker::new();
        requester.post(a, &b).unwrap();
        assert_eq!(
            requester.post(a, &b),
            Err(JobError::AlreadyTracked { job: a })
        );
        assert_eq!(
            requester.apply(&c, &matched(10)),
            Err(JobError::UnknownJob { job: c })
        );
        assert_eq!(requester.apply(&a, &matched(10)), Ok(Phase::Matched));
        assert_eq!(requester.active(), 1);
        assert_eq!(requester.get(&a).unwrap().matched.len(), 1);

        let me = addr(10);
        let mut provider = ProviderJobs::new(me);
        for id in [a, c] {
            provider.on_matched(id, &b, 2).unwrap();
            provider.apply(&id, &committed(10)).unwrap();
            provider.apply(&id, &revealed(10, 1)).unwrap();
        }
        provider.apply(&a, &paid(10, 700)).unwrap();
        provider.apply(&a, &JobEvent::Settled).unwrap();
        provider.apply(&c, &slashed(10, 40)).unwrap();
        provider.apply(&c, &JobEvent::Disputed).unwrap();
        provider.apply(&c, &paid(10, 300)).unwrap();
        provider.apply(&c, &JobEvent::Settled).unwrap();
        assert_eq!(provider.earnings(), 1_000);
        assert_eq!(provider.slashed(), 40);
        assert_eq!(provider.jobs().active(), 0);
        assert_eq!(provider.prune_final().len(), 2);
        assert_eq!(provider.jobs().jobs().count(), 0);
        assert_eq!(provider.earnings(), 1_000);
        assert_eq!(provider.provider(), me);
        // A refused event adds nothing to the totals.
        assert!(provider.apply(&a, &paid(10, 5)).is_err());
        assert_eq!(provider.earnings(), 1_000);
    }
}
