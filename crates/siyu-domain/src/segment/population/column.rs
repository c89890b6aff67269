//! The columns of a population and the scans over them. Each column is grown row by row by its builder
//! (every row starts missing, the store or a subject sets the last row) and frozen into a compact form:
//! numbers as `i16`/`i32` when every value is a small integer, texts dictionary-encoded (per-value bitsets
//! when there are few values), times in microseconds, lists as per-value member sets.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::bitset::{Bitset, Members};
use crate::segment::Cmp;

/// Below this many rows a scan runs on the calling thread alone.
const PARALLEL_ROWS: usize = 1 << 18;

/// A bitset of `pred` over every value.
fn scan<T: Copy + Sync>(values: &[T], pred: impl Fn(T) -> bool + Sync) -> Bitset {
    let mut out = Bitset::new(values.len());
    let words = out.words_mut();
    if values.len() >= PARALLEL_ROWS {
        let pred = &pred;
        let done = std::thread::scope(|s| {
            let mid = words.len() / 2;
            let (w1, w2) = words.split_at_mut(mid);
            let (v1, v2) = values.split_at(mid * 64);
            match std::thread::Builder::new().spawn_scoped(s, move || pack(w2, v2, pred)) {
                Ok(other) => {
                    pack(w1, v1, pred);
                    other.join().is_ok()
                }
                Err(_) => false,
            }
        });
        if done {
            return out;
        }
    }
    pack(out.words_mut(), values, &pred);
    out
}

fn pack<T: Copy>(words: &mut [u64], values: &[T], pred: &impl Fn(T) -> bool) {
    let mut chunks = values.chunks_exact(64);
    for (w, c) in words.iter_mut().zip(&mut chunks) {
        let mut bits = 0u64;
        for (i, &v) in c.iter().enumerate() {
            bits |= u64::from(pred(v)) << i;
        }
        *w = bits;
    }
    let rest = chunks.remainder();
    if let Some(w) = words.get_mut(values.len() / 64)
        && !rest.is_empty()
    {
        let mut bits = 0u64;
        for (i, &v) in rest.iter().enumerate() {
            bits |= u64::from(pred(v)) << i;
        }
        *w = bits;
    }
}

fn and_present(mut out: Bitset, present: &Option<Bitset>) -> Bitset {
    if let Some(p) = present {
        out.and(p);
    }
    out
}

fn freeze_present(present: Bitset) -> Option<Bitset> {
    (present.count() != present.len()).then_some(present)
}

/// Numbers (`eval`'s `Val::Number`), missing where `present` is clear.
#[derive(Debug, Clone)]
pub(crate) struct NumberCol {
    values: Numbers,
    /// `None`: every row has a value.
    present: Option<Bitset>,
}

#[derive(Debug, Clone)]
enum Numbers {
    I16(Vec<i16>),
    I32(Vec<i32>),
    F64(Vec<f64>),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct NumberBuilder {
    values: Vec<f64>,
    present: Bitset,
}

impl NumberBuilder {
    pub fn push_missing(&mut self) {
        self.values.push(0.0);
        self.present.push(false);
    }

    pub fn set_last(&mut self, v: f64) {
        if let Some(last) = self.values.last_mut() {
            *last = v;
            self.present.set_last(true);
        }
    }

    pub fn finish(self) -> NumberCol {
        let fits = |lo: f64, hi: f64| self.values.iter().all(|v| v.fract() == 0.0 && *v >= lo && *v <= hi);
        let values = if fits(f64::from(i16::MIN), f64::from(i16::MAX)) {
            Numbers::I16(self.values.iter().map(|v| *v as i16).collect())
        } else if fits(f64::from(i32::MIN), f64::from(i32::MAX)) {
            Numbers::I32(self.values.iter().map(|v| *v as i32).collect())
        } else {
            Numbers::F64(self.values)
        };
        NumberCol { values, present: freeze_present(self.present) }
    }
}

/// Integers compared with a float exactly as `(v as f64) op x` compares them.
fn int_cmp<T: Copy + Into<i64> + Sync>(v: &[T], op: Cmp, x: f64) -> Bitset {
    let n = v.len();
    if x.is_nan() {
        return if op == Cmp::Ne { Bitset::full(n) } else { Bitset::new(n) };
    }
    // Saturating: beyond the i64 range no stored integer reaches the bound, as with the floats.
    let (lo, hi) = (x.floor() as i64, x.ceil() as i64);
    match op {
        Cmp::Ge => scan(v, |a| a.into() >= hi),
        Cmp::Gt => scan(v, |a| a.into() > lo),
        Cmp::Lt => scan(v, |a| a.into() < hi),
        Cmp::Le => scan(v, |a| a.into() <= lo),
        Cmp::Eq if lo == hi => scan(v, |a| a.into() == lo),
        Cmp::Eq => Bitset::new(n),
        Cmp::Ne if lo == hi => scan(v, |a| a.into() != lo),
        Cmp::Ne => Bitset::full(n),
    }
}

fn float_cmp(v: &[f64], op: Cmp, x: f64) -> Bitset {
    match op {
        Cmp::Eq => scan(v, |a| a == x),
        Cmp::Ne => scan(v, |a| a != x),
        Cmp::Lt => scan(v, |a| a < x),
        Cmp::Le => scan(v, |a| a <= x),
        Cmp::Gt => scan(v, |a| a > x),
        Cmp::Ge => scan(v, |a| a >= x),
    }
}

impl NumberCol {
    pub fn compare(&self, op: Cmp, x: f64) -> Bitset {
        let out = match &self.values {
            Numbers::I16(v) => int_cmp(v, op, x),
            Numbers::I32(v) => int_cmp(v, op, x),
            Numbers::F64(v) => float_cmp(v, op, x),
        };
        and_present(out, &self.present)
    }

    pub fn present(&self, len: usize) -> Bitset {
        self.present.clone().unwrap_or_else(|| Bitset::full(len))
    }
}

/// Times (`Val::Time`) in microseconds since the epoch (both databases' precision), missing where
/// `present` is clear.
#[derive(Debug, Clone)]
pub(crate) struct TimeCol {
    micros: Vec<i64>,
    present: Option<Bitset>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TimeBuilder {
    micros: Vec<i64>,
    present: Bitset,
}

impl TimeBuilder {
    pub fn push_missing(&mut self) {
        self.micros.push(0);
        self.present.push(false);
    }

    pub fn set_last(&mut self, t: DateTime<Utc>) {
        if let Some(last) = self.micros.last_mut() {
            *last = t.timestamp_micros();
            self.present.set_last(true);
        }
    }

    pub fn finish(self) -> TimeCol {
        TimeCol { micros: self.micros, present: freeze_present(self.present) }
    }
}

impl TimeCol {
    /// `t op x` for whole-microsecond `t` and any `x`.
    pub fn compare(&self, op: Cmp, x: DateTime<Utc>) -> Bitset {
        let v = &self.micros;
        let lo = x.timestamp_micros();
        let exact = x.timestamp_subsec_nanos().is_multiple_of(1000);
        let hi = if exact { lo } else { lo.saturating_add(1) };
        let out = match op {
            Cmp::Ge => scan(v, |a| a >= hi),
            Cmp::Gt => scan(v, |a| a > lo),
            Cmp::Lt => scan(v, |a| a < hi),
            Cmp::Le => scan(v, |a| a <= lo),
            Cmp::Eq if exact => scan(v, |a| a == lo),
            Cmp::Eq => Bitset::new(v.len()),
            Cmp::Ne if exact => scan(v, |a| a != lo),
            Cmp::Ne => Bitset::full(v.len()),
        };
        and_present(out, &self.present)
    }

    pub fn present(&self, len: usize) -> Bitset {
        self.present.clone().unwrap_or_else(|| Bitset::full(len))
    }
}

/// Most distinct values a text column keeps as one bitset per value rather than codes.
const FEW_VALUES: usize = 16;

/// Texts (`Val::Text`), dictionary-encoded; code 0 is missing.
#[derive(Debug, Clone)]
pub(crate) struct TextCol {
    /// `dict[0]` stands for missing and never matches.
    dict: Vec<String>,
    codes: Codes,
}

#[derive(Debug, Clone)]
enum Codes {
    /// One bitset per code from 1.
    Sets(Vec<Bitset>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

#[derive(Debug, Clone)]
pub(crate) struct TextBuilder {
    dict: Vec<String>,
    index: HashMap<String, u32>,
    codes: Vec<u32>,
}

impl Default for TextBuilder {
    fn default() -> Self {
        Self { dict: vec![String::new()], index: HashMap::new(), codes: Vec::new() }
    }
}

impl TextBuilder {
    pub fn push_missing(&mut self) {
        self.codes.push(0);
    }

    pub fn set_last(&mut self, t: &str) {
        let code = match self.index.get(t) {
            Some(c) => *c,
            None => {
                let c = self.dict.len() as u32;
                self.dict.push(t.to_string());
                self.index.insert(t.to_string(), c);
                c
            }
        };
        if let Some(last) = self.codes.last_mut() {
            *last = code;
        }
    }

    pub fn finish(self) -> TextCol {
        let n = self.codes.len();
        let codes = if self.dict.len() <= FEW_VALUES + 1 {
            let mut sets = vec![Bitset::new(n); self.dict.len().saturating_sub(1)];
            for (row, &c) in self.codes.iter().enumerate() {
                if let Some(set) = (c as usize).checked_sub(1).and_then(|i| sets.get_mut(i)) {
                    set.insert(row);
                }
            }
            Codes::Sets(sets)
        } else if self.dict.len() <= 1 << 8 {
            Codes::U8(self.codes.iter().map(|c| *c as u8).collect())
        } else if self.dict.len() <= 1 << 16 {
            Codes::U16(self.codes.iter().map(|c| *c as u16).collect())
        } else {
            Codes::U32(self.codes)
        };
        TextCol { dict: self.dict, codes }
    }
}

impl TextCol {
    /// The rows whose text satisfies `pred` (decided once per distinct value).
    pub fn matching(&self, len: usize, pred: impl Fn(&str) -> bool) -> Bitset {
        let table: Vec<bool> = self.dict.iter().enumerate().map(|(i, s)| i != 0 && pred(s)).collect();
        let hits: Vec<usize> = (0..table.len()).filter(|&i| table[i]).collect();
        match (&self.codes, hits.as_slice()) {
            (_, []) => Bitset::new(len),
            (Codes::Sets(sets), _) => {
                let mut out = Bitset::new(len);
                hits.iter().filter_map(|&c| sets.get(c - 1)).for_each(|s| out.or(s));
                out
            }
            (Codes::U8(v), [one]) => scan(v, |c| usize::from(c) == *one),
            (Codes::U16(v), [one]) => scan(v, |c| usize::from(c) == *one),
            (Codes::U32(v), [one]) => scan(v, |c| c as usize == *one),
            (Codes::U8(v), _) => {
                let mut t = [false; 256];
                t[..table.len()].copy_from_slice(&table);
                scan(v, |c| t[usize::from(c)])
            }
            (Codes::U16(v), _) => {
                let mut t = vec![false; 1 << 16];
                t[..table.len()].copy_from_slice(&table);
                scan(v, |c| t.get(usize::from(c)).copied().unwrap_or(false))
            }
            (Codes::U32(v), _) => scan(v, |c| table.get(c as usize).copied().unwrap_or(false)),
        }
    }

    pub fn present(&self, len: usize) -> Bitset {
        self.matching(len, |_| true)
    }
}

/// Lists of texts (`Val::List`): the rows holding a list at all, those with a non-empty one, and per value
/// the rows whose list holds it.
#[derive(Debug, Clone)]
pub(crate) struct ListCol {
    /// `None`: every row holds a list.
    is_list: Option<Bitset>,
    nonempty: Bitset,
    values: HashMap<String, Members>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ListBuilder {
    is_list: Bitset,
    nonempty: Bitset,
    values: HashMap<String, Vec<u32>>,
}

impl ListBuilder {
    pub fn push_missing(&mut self) {
        self.is_list.push(false);
        self.nonempty.push(false);
    }

    /// The last row holds a list of these texts (`nonempty`: it counts as set).
    pub fn set_last<'a>(&mut self, items: impl IntoIterator<Item = &'a str>, nonempty: bool) {
        let Some(row) = self.is_list.len().checked_sub(1) else { return };
        self.is_list.set_last(true);
        self.nonempty.set_last(nonempty);
        for item in items {
            match self.values.get_mut(item) {
                Some(rows) => rows.push(row as u32),
                None => {
                    self.values.insert(item.to_string(), vec![row as u32]);
                }
            }
        }
    }

    pub fn finish(self) -> ListCol {
        let n = self.is_list.len();
        let values = self.values.into_iter().map(|(k, rows)| (k, Members::build(rows, n))).collect();
        ListCol { is_list: freeze_present(self.is_list), nonempty: self.nonempty, values }
    }
}

impl ListCol {
    /// The rows whose list holds all (`all`) or any of `values`.
    pub fn holding(&self, len: usize, all: bool, values: &[String]) -> Bitset {
        if all {
            let mut out = self.is_list.clone().unwrap_or_else(|| Bitset::full(len));
            for v in values {
                match self.values.get(v) {
                    Some(m) => m.and_into(&mut out),
                    None => return Bitset::new(len),
                }
            }
            out
        } else {
            let mut out = Bitset::new(len);
            values.iter().filter_map(|v| self.values.get(v)).for_each(|m| m.or_into(&mut out));
            out
        }
    }

    pub fn nonempty(&self) -> &Bitset {
        &self.nonempty
    }
}

/// A custom field: the JSON value of each row read in each of the shapes `eval` reads it in.
#[derive(Debug, Clone)]
pub(crate) struct CustomCol {
    /// Anything but null, an array only with elements (`is set`).
    pub set: Bitset,
    pub number: NumberCol,
    pub text: TextCol,
    pub list: ListCol,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct CustomBuilder {
    set: Bitset,
    number: NumberBuilder,
    text: TextBuilder,
    list: ListBuilder,
}

impl CustomBuilder {
    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn push(&mut self, v: Option<&Value>) {
        self.set.push(false);
        self.number.push_missing();
        self.text.push_missing();
        self.list.push_missing();
        match v {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => {
                self.set.set_last(true);
                if let Some(f) = n.as_f64() {
                    self.number.set_last(f);
                }
            }
            Some(Value::String(s)) => {
                self.set.set_last(true);
                self.text.set_last(s);
            }
            Some(Value::Array(items)) => {
                self.set.set_last(!items.is_empty());
                self.list.set_last(items.iter().filter_map(Value::as_str), !items.is_empty());
            }
            Some(_) => self.set.set_last(true),
        }
    }

    pub fn finish(self) -> CustomCol {
        CustomCol { set: self.set, number: self.number.finish(), text: self.text.finish(), list: self.list.finish() }
    }
}
