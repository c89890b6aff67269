//! siyu's side of `siyu bench identity`: read the edge file, give every identifier a dense `u32` id, and
//! union the pairs, timed from opening the file to the answer.
//!
//! 1. **read + intern**: the file is cut into one run of whole lines per thread; each thread reads its run
//!    in pieces and numbers the identifiers in its own [`Interner`] ([`scan`]);
//! 2. **merge**: a later thread's identifiers are looked up in the earlier threads' tables (all threads
//!    helping), and those not found there get the next global ids: thread 0's ids, then the new ones of
//!    thread 1 in its order, and so on. Meanwhile another thread unions thread 0's lines, whose ids are
//!    already global;
//! 3. **union**: the other threads' lines, in file order, through [`UnionFind`] or the [`Guard`].

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use siyu_domain::union_find::UnionFind;

use super::guard::{FREE, Guard, Namespaces};
use super::scan::{self, Scan};

/// Not numbered yet.
const NONE: u32 = u32::MAX;

/// What one run found and how long each step took.
#[derive(Debug)]
pub struct Resolution {
    pub identifiers: usize,
    pub lines: u64,
    pub components: usize,
    pub largest: u32,
    /// Unions the guard refused (guarded runs only).
    pub refused: Option<u64>,
    pub steps: Vec<(&'static str, Duration)>,
    /// From opening the file to the answer.
    pub elapsed: Duration,
}

/// The sets being built: plain, or with the uniqueness guard.
enum Sets {
    Plain(UnionFind),
    Guarded(Guard),
}

impl Sets {
    fn union(&mut self, a: u32, b: u32) {
        match self {
            Sets::Plain(uf) => uf.union(a, b),
            Sets::Guarded(g) => g.union(a, b),
        };
    }

    /// Unions every pair of `ids`, mapped to global ids through `map` when there is one.
    fn replay(&mut self, ids: &[u32], map: Option<&[u32]>) {
        match map {
            None => ids.chunks_exact(2).for_each(|p| self.union(p[0], p[1])),
            Some(m) => ids.chunks_exact(2).for_each(|p| self.union(m[p[0] as usize], m[p[1] as usize])),
        }
    }

    fn add(&mut self, key: u32) {
        match self {
            Sets::Plain(uf) => uf.add(),
            Sets::Guarded(g) => g.add(key),
        };
    }
}

/// Resolves the edge file at `path` with `threads` threads; `guarded` replays through the [`Guard`].
pub fn resolve(path: &Path, threads: usize, guarded: bool) -> anyhow::Result<Resolution> {
    let threads = threads.clamp(1, 64);
    let started = Instant::now();
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata()?.len();
    let starts = scan::boundaries(&file, len, threads)?;
    let file = &file;
    let scans = in_parallel(starts.windows(2).map(|w| move || scan::scan(file, w[0], w[1], guarded)))
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    let mut steps = vec![("read + intern", started.elapsed())];
    let lap = Instant::now();

    let Some((first, _)) = scans.split_first() else { anyhow::bail!("no threads") };
    let mut namespaces = Namespaces::default();
    let sets = match first.kinds.as_ref() {
        Some(kinds) => Sets::Guarded(Guard::new(kinds.keys_in(&mut namespaces))),
        None => Sets::Plain(UnionFind::new(first.interner.len())),
    };
    let (sets, numbering) = std::thread::scope(|s| {
        let early = s.spawn(move || {
            let mut sets = sets;
            sets.replay(&first.ids, None);
            sets
        });
        let numbering = number(&scans, threads, &mut namespaces);
        (early.join(), numbering)
    });
    let mut sets = sets.map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
    let numbering = numbering?;
    steps.push(("merge", lap.elapsed()));
    let lap = Instant::now();

    for i in 0..numbering.new {
        sets.add(numbering.keys.get(i).copied().unwrap_or(FREE));
    }
    for (scan, map) in scans.iter().zip(&numbering.maps).skip(1) {
        sets.replay(&scan.ids, Some(map));
    }
    let (components, largest, refused) = match &sets {
        Sets::Plain(uf) => (uf.sets(), uf.largest_set(), None),
        Sets::Guarded(g) => (g.sets(), g.largest_set(), Some(g.refused())),
    };
    steps.push(("union", lap.elapsed()));
    let identifiers = first.interner.len() + numbering.new;
    let lines = scans.iter().map(|s| s.ids.len() as u64 / 2).sum();
    Ok(Resolution { identifiers, lines, components, largest, refused, steps, elapsed: started.elapsed() })
}

/// The global ids of the threads after the first.
struct Numbering {
    /// Per thread (empty for thread 0, whose ids are global): its id to the global one.
    maps: Vec<Vec<u32>>,
    /// Identifiers no earlier thread had, numbered after thread 0's.
    new: usize,
    /// Their unique kinds, in that order (guarded runs).
    keys: Vec<u32>,
}

fn number(scans: &[Scan], threads: usize, namespaces: &mut Namespaces) -> anyhow::Result<Numbering> {
    let first = scans.first().map_or(0, |s| s.interner.len());
    let mut numbering = Numbering { maps: vec![Vec::new()], new: 0, keys: Vec::new() };
    for (t, scan) in scans.iter().enumerate().skip(1) {
        let map: Vec<AtomicU32> = (0..scan.interner.len()).map(|_| AtomicU32::new(NONE)).collect();
        let slots = scan.interner.slot_count();
        let share = slots.div_ceil(threads);
        let (earlier, maps, map_ref) = (&scans[..t], &numbering.maps, &map);
        in_parallel((0..threads).map(|w| {
            move || {
                let range = (w * share).min(slots)..((w + 1) * share).min(slots);
                // In slot order: tables place identifiers by the top bits of their hash, so the earlier
                // tables are read in order too.
                for (id, tag, bytes) in scan.interner.entries(range) {
                    for (u, other) in earlier.iter().enumerate() {
                        if let Some(theirs) = other.interner.get(tag, bytes) {
                            let global = if u == 0 { theirs } else { maps[u][theirs as usize] };
                            map_ref[id as usize].store(global, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                Ok(())
            }
        }))?;
        let mut map: Vec<u32> = map.into_iter().map(AtomicU32::into_inner).collect();
        let kinds = scan.kinds.as_ref().map(|k| k.keys_in(namespaces));
        for (id, global) in map.iter_mut().enumerate() {
            if *global == NONE {
                let next = first + numbering.new;
                *global = u32::try_from(next).ok().filter(|&g| g != NONE).context("more identifiers than u32 ids")?;
                numbering.new += 1;
                if let Some(kinds) = &kinds {
                    numbering.keys.push(kinds[id]);
                }
            }
        }
        numbering.maps.push(map);
    }
    Ok(numbering)
}

/// Runs every job on its own thread and collects their results in order.
fn in_parallel<T, F>(jobs: impl IntoIterator<Item = F>) -> anyhow::Result<Vec<T>>
where
    T: Send,
    F: FnOnce() -> anyhow::Result<T> + Send,
{
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|job| s.spawn(job)).collect();
        handles.into_iter().map(|h| h.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_text(text: &str, threads: usize, guarded: bool) -> Resolution {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.tsv");
        std::fs::write(&path, text).unwrap();
        resolve(&path, threads, guarded).unwrap()
    }

    #[test]
    fn identifiers_seen_together_resolve_to_one_component_whatever_the_threads() {
        let text = "a\tb\nc\td\nb\tc\ne\te\nf\tg\n小明\tf";
        for threads in [1, 2, 3, 8] {
            let r = resolve_text(text, threads, false);
            assert_eq!((r.identifiers, r.lines, r.components, r.largest), (8, 6, 3, 4), "{threads} threads");
        }
    }

    #[test]
    fn a_line_without_a_tab_or_with_invalid_utf8_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.tsv");
        std::fs::write(&path, "a\tb\nc\n").unwrap();
        assert!(format!("{:#}", resolve(&path, 2, false).unwrap_err()).contains("no tab"));
        std::fs::write(&path, b"a\t\xff\n").unwrap();
        assert!(format!("{:#}", resolve(&path, 1, false).unwrap_err()).contains("UTF-8"));
    }

    #[test]
    fn the_guard_refuses_to_join_two_unionids_or_two_openids_of_one_app() {
        let text = "unionid:1\tphone:x\nunionid:2\tphone:x\nopenid@wxa:1\tanon:1\nopenid@wxa:2\tanon:1\n\
                    openid@wxb:3\tanon:1\nunionid:1\topenid@wxa:1\n";
        let plain = resolve_text(text, 2, false);
        assert_eq!((plain.identifiers, plain.components, plain.largest, plain.refused), (7, 1, 7, None));
        let guarded = resolve_text(text, 2, true);
        assert_eq!(guarded.refused, Some(2));
        assert_eq!((guarded.components, guarded.largest), (3, 5));
    }
}
