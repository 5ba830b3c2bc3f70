//! Data parallelism for block import on scoped threads (`std::thread::scope`): no pool, no
//! dependency. Each helper takes the number of threads it may use; with 1, or below
//! [`MIN_PARALLEL`] items, the work runs on the calling thread alone.

/// Below this many items one thread does the work: spawning would cost more than it saves.
pub(crate) const MIN_PARALLEL: usize = 64;

/// Maps `items` in order on up to `threads` threads (contiguous chunks, one per thread); the
/// calling thread only waits.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if items.len() < MIN_PARALLEL || threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            out.extend(h.join().expect("import work does not panic; qed"));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_keeps_order_on_any_thread_count() {
        let items: Vec<u32> = (0..1_000).collect();
        for threads in [1, 2, 3, 7] {
            assert_eq!(
                super::map(&items, threads, |x| x * 2),
                items.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
        }
    }
}
