//! Data parallelism for block import on scoped threads (`std::thread::scope`): no pool, no
//! dependency. Each helper takes the number of threads it may use; with 1, or below
//! [`MIN_PARALLEL`] items, the work runs on the calling thread alone.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this many items one thread does the work: spawning would cost more than it saves.
pub(crate) const MIN_PARALLEL: usize = 64;

/// Items per piece of work handed to a thread: small enough that the threads finish within a
/// piece of each other, large enough that taking one costs nothing beside it (4 signature
/// recoveries are about 0.5 ms).
const PIECE: usize = 4;

/// Maps `items` in order on up to `threads` threads, the calling thread being one of them.
///
/// The threads take pieces of [`PIECE`] items from a shared counter rather than a fixed share
/// each, so a thread that loses its core for a while (to another of the node's threads, such as
/// block execution beside the recovery of the next block) takes fewer pieces instead of the
/// others waiting for it.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if items.len() < MIN_PARALLEL || threads <= 1 {
        return items.iter().map(f).collect();
    }
    let pieces: Vec<&[T]> = items.chunks(PIECE).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(piece) = pieces.get(i) else {
                return done;
            };
            done.push((i, piece.iter().map(&f).collect::<Vec<_>>()));
        }
    };
    let mut done = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut done = work();
        for h in helpers {
            done.extend(h.join().expect("import work does not panic; qed"));
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, results)| results).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_keeps_order_on_any_thread_count() {
        let items: Vec<u32> = (0..1_000).collect();
        for threads in [1, 2, 3, 7, 100] {
            assert_eq!(
                super::map(&items, threads, |x| x * 2),
                items.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
        }
    }
}
