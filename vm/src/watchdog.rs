//! The wall-clock watchdog: a provider-side guard, outside consensus.
//!
//! Fuel already bounds every job. The watchdog exists so that a provider can never be hung by a
//! job even if fuel accounting were wrong (a wasmtime bug, a pathological host call): a thread
//! bumps the engine's epoch every [`TICK`], and each job's store gets an epoch deadline of its
//! wall-clock limit. A job past the deadline traps with `Trap::Interrupt`, which the VM reports
//! as [`ExecError::GaveUp`](crate::ExecError::GaveUp) — never as an [`Outcome`](crate::Outcome).

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::Engine;

/// How often the epoch advances.
pub const TICK: Duration = Duration::from_millis(5);

/// Advances an engine's epoch every [`TICK`] until dropped.
#[derive(Debug)]
pub(crate) struct Watchdog {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the ticker thread for `engine`.
    pub(crate) fn start(engine: Engine) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("joule-vm-watchdog".into())
            .spawn(move || {
                // Ticks until the sender is dropped; waiting on the channel (not sleeping) lets drop
                // end the thread at once.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The epoch deadline, in ticks, for a wall-clock limit (rounded up, plus one tick because
    /// the current tick may be nearly over).
    pub(crate) fn ticks(limit: Duration) -> u64 {
        let tick = TICK.as_nanos();
        (limit.as_nanos().div_ceil(tick) as u64).saturating_add(1)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up() {
        assert_eq!(Watchdog::ticks(Duration::from_millis(10)), 3);
        assert_eq!(Watchdog::ticks(Duration::from_millis(11)), 4);
        assert_eq!(Watchdog::ticks(Duration::ZERO), 1);
    }
}
