//! One thread's share of `siyu bench identity`: a run of whole lines of the edge file, read in pieces into
//! a small buffer that stays in cache; each piece's complete lines are checked to be UTF-8, split at their
//! first tab, and both identifiers hashed once (FxHash) and interned in the thread's [`Interner`].

use std::fs::File;
use std::hash::Hasher;
use std::os::unix::fs::FileExt;

use rustc_hash::FxHasher;

use super::guard::Kinds;
use super::interner::{BATCH, Interner, Item, MAX_LEN};

/// Bytes of file per distinct identifier the tables are first sized for (they grow if there are more).
const BYTES_PER_IDENTIFIER: usize = 100;
/// Bytes read at a time; a line must fit.
const PIECE: usize = 1 << 20;

/// What one thread made of its run of lines.
pub struct Scan {
    pub interner: Interner,
    /// Two ids a line, in file order (the thread's own numbering).
    pub ids: Vec<u32>,
    /// The unique kind of each of its identifiers (guarded runs).
    pub kinds: Option<Kinds>,
}

/// Where each of `threads` runs of lines starts, then the file's length: each start but the first is just
/// after a newline.
pub fn boundaries(file: &File, len: u64, threads: usize) -> std::io::Result<Vec<u64>> {
    let mut starts = vec![0];
    let mut probe = vec![0u8; 1 << 16];
    for i in 1..threads as u64 {
        let mut at = (len / threads as u64 * i).max(starts.last().copied().unwrap_or(0));
        loop {
            if at >= len {
                break;
            }
            let n = file.read_at(&mut probe, at)?;
            if n == 0 {
                at = len;
                break;
            }
            if let Some(nl) = memchr::memchr(b'\n', &probe[..n]) {
                at += nl as u64 + 1;
                break;
            }
            at += n as u64;
        }
        starts.push(at);
    }
    starts.push(len);
    Ok(starts)
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.finish()
}

/// Reads, parses and interns bytes `start..end` of `file`.
pub fn scan(file: &File, start: u64, end: u64, guarded: bool) -> anyhow::Result<Scan> {
    let len = usize::try_from(end - start)?;
    let mut run = Run {
        interner: Interner::new(len / BYTES_PER_IDENTIFIER, len),
        ids: Vec::with_capacity(len / 16),
        kinds: guarded.then(Kinds::default),
        next: [Item::default(); BATCH],
        n: 0,
        ready: [Item::default(); BATCH],
        m: 0,
    };
    let mut buf = vec![0u8; PIECE];
    let (mut filled, mut at) = (0, start);
    while at < end || filled > 0 {
        // Two identifiers of at most MAX_LEN bytes always fit: a longer line is refused.
        anyhow::ensure!(filled < buf.len(), "the line at byte {} of the edge file is too long", at - filled as u64);
        let want = (buf.len() - filled).min(usize::try_from(end - at).unwrap_or(usize::MAX));
        let got = file.read_at(&mut buf[filled..filled + want], at)?;
        anyhow::ensure!(got > 0 || want == 0, "the edge file ended early, at byte {at}");
        at += got as u64;
        filled += got;
        let offset = at - filled as u64;
        let complete = if at == end {
            filled
        } else {
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(nl) => nl + 1,
                None => continue,
            }
        };
        run.lines(&buf[..complete], offset)?;
        buf.copy_within(complete..filled, 0);
        filled -= complete;
    }
    Ok(Scan { interner: run.interner, ids: run.ids, kinds: run.kinds })
}

/// A thread's interner and the batches on their way into it: `next` is being filled; `ready` is full and
/// its slots touched, to be interned once `next` is full and touched in its turn.
struct Run {
    interner: Interner,
    ids: Vec<u32>,
    kinds: Option<Kinds>,
    next: [Item; BATCH],
    n: usize,
    ready: [Item; BATCH],
    m: usize,
}

impl Run {
    /// Parses and interns `text`, whole lines (the last one's newline may be missing) starting at byte
    /// `offset` of the file.
    fn lines(&mut self, text: &[u8], offset: u64) -> anyhow::Result<()> {
        if let Err(e) = std::str::from_utf8(text) {
            anyhow::bail!("the edge file is not UTF-8 at byte {}", offset + e.valid_up_to() as u64);
        }
        let mut line_start = 0;
        let mut ends = memchr::memchr_iter(b'\n', text);
        loop {
            let line_end = match ends.next() {
                Some(end) => end,
                None if line_start < text.len() => text.len(),
                None => break,
            };
            let Some(tab) = memchr::memchr(b'\t', &text[line_start..line_end]) else {
                anyhow::bail!("the line at byte {} of the edge file has no tab", offset + line_start as u64);
            };
            for (start, end) in [(line_start, line_start + tab), (line_start + tab + 1, line_end)] {
                anyhow::ensure!(end - start <= MAX_LEN, "an identifier at byte {} is too long", offset + start as u64);
                self.next[self.n] = Item::new(hash(&text[start..end]), start, end - start);
                self.n += 1;
            }
            if self.n == BATCH {
                self.interner.touch(&self.next);
                self.intern_ready(text);
                std::mem::swap(&mut self.next, &mut self.ready);
                (self.m, self.n) = (self.n, 0);
            }
            line_start = line_end + 1;
        }
        // The buffer is about to change: intern everything that points into it.
        self.intern_ready(text);
        self.interner.touch(&self.next[..self.n]);
        std::mem::swap(&mut self.next, &mut self.ready);
        (self.m, self.n) = (self.n, 0);
        self.intern_ready(text);
        Ok(())
    }

    fn intern_ready(&mut self, text: &[u8]) {
        let kinds = &mut self.kinds;
        let ready = &self.ready[..self.m];
        self.interner.intern(text, ready, &mut self.ids, |id| kinds.iter_mut().for_each(|k| k.push(id)));
        self.m = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_lines_start_after_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.tsv");
        std::fs::write(&path, "aaaa\tb\ncc\td\ne\tf\n").unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(boundaries(&file, 16, 2).unwrap(), vec![0, 12, 16]);
        assert_eq!(boundaries(&file, 16, 4).unwrap(), vec![0, 7, 12, 16, 16]);
        let s = scan(&file, 7, 16, false).unwrap();
        assert_eq!((s.ids, s.interner.len()), (vec![0, 1, 2, 3], 4));
    }

    #[test]
    fn a_last_line_without_newline_is_read_and_an_endless_line_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.tsv");
        let long = "x".repeat(MAX_LEN);
        let lines: String = (0..40).map(|i| format!("{long}\t{i}\n")).collect();
        std::fs::write(&path, format!("{lines}b\t{long}")).unwrap();
        let file = File::open(&path).unwrap();
        let s = scan(&file, 0, file.metadata().unwrap().len(), false).unwrap();
        assert_eq!((s.ids.len(), s.interner.len()), (82, 42));
        assert_eq!(&s.ids[78..], &[0, 40, 41, 0]);

        std::fs::write(&path, format!("a\t{}\n", "y".repeat(PIECE))).unwrap();
        let file = File::open(&path).unwrap();
        let err = scan(&file, 0, file.metadata().unwrap().len(), false).err().unwrap();
        assert!(err.to_string().contains("too long"), "{err}");
    }
}
