//! The text form of a definition, for the API and power users. It reads like the console's builder:
//!
//! ```text
//! order_count >= 3 and last_order_at within 90d
//!   and tag any ["会员等级/金卡", "高意向"] and not tag any ["内部员工"] and group any ["会员福利群"]
//!   and (has unionid or follow staff "zhangsan" within 7d)
//!   and event "add_to_cart" >= 2 within 30d where (category = "母婴", price > 100)
//!   and bought "SKU-1001" within 365d and consent marketing granted and segment "复购客户"
//!   and custom.city in ["上海", "杭州"] and platforms has_any ["taobao", "jd"]
//! ```
//!
//! `and` binds tighter than `or`; `not` applies to the next condition. Names (tags as `group/name` or a
//! unique name, customer groups by unique name or id, staff by username, segments) are resolved against the
//! [`Catalog`]; every parsed node remembers its byte range so the checker's errors point into the text.

use serde_json::{Value, json};

use super::check::{Catalog, DefinitionError, check};
use super::{Condition, CountOp, Op, PropertyFilter, Rule, TagMatch};
use crate::id::{GroupId, TagId};
use crate::identity::IdentityKind;
use crate::privacy::{ConsentPurpose, ConsentStatus};

mod lex;
mod print;

use lex::{Tok, Token, lex};
pub use print::print;

/// Parses and checks text; errors carry byte ranges into `src`.
pub fn parse(src: &str, catalog: &Catalog) -> Result<(Condition, Rule), Vec<DefinitionError>> {
    let tokens = lex(src).map_err(|e| vec![e])?;
    let mut p = Parser { toks: &tokens, pos: 0, catalog, spans: Vec::new(), end: src.len() };
    let cond = p.expr("").map_err(|e| vec![e])?;
    if let Some(t) = p.peek() {
        return Err(vec![spanned("", "unexpected_token", t.text.clone(), (t.start, t.end))]);
    }
    let spans = p.spans;
    check(&cond, catalog).map(|rule| (cond, rule)).map_err(|errors| {
        errors
            .into_iter()
            .map(|mut e| {
                // The deepest node the error's path lies in.
                e.span = spans
                    .iter()
                    .filter(|(p, _)| e.path == *p || e.path.starts_with(&format!("{p}/")))
                    .max_by_key(|(p, _)| p.len())
                    .map(|(_, s)| *s);
                e
            })
            .collect()
    })
}

fn spanned(path: &str, code: &str, detail: String, span: (usize, usize)) -> DefinitionError {
    DefinitionError { path: path.to_string(), span: Some(span), code: code.to_string(), detail }
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    catalog: &'a Catalog,
    /// JSON pointer of every node parsed, with its byte range.
    spans: Vec<(String, (usize, usize))>,
    end: usize,
}

type Parsed<T> = Result<T, DefinitionError>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Parsed<Token> {
        let t =
            self.peek().cloned().ok_or_else(|| spanned("", "unexpected_end", String::new(), (self.end, self.end)))?;
        self.pos += 1;
        Ok(t)
    }

    fn word_is(&self, w: &str) -> bool {
        self.peek().is_some_and(|t| t.tok == Tok::Word && t.text == w)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.word_is(w);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn eat(&mut self, tok: Tok) -> bool {
        let yes = self.peek().is_some_and(|t| t.tok == tok);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Parsed<Token> {
        let t = self.next()?;
        if t.tok == tok { Ok(t) } else { Err(spanned("", &format!("expected_{what}"), t.text, (t.start, t.end))) }
    }

    fn start(&self) -> usize {
        self.peek().map_or(self.end, |t| t.start)
    }

    fn last_end(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.toks.get(i)).map_or(0, |t| t.end)
    }

    fn record(&mut self, path: &str, start: usize) {
        let end = self.last_end();
        self.spans.push((path.to_string(), (start, end)));
    }

    fn expr(&mut self, path: &str) -> Parsed<Condition> {
        self.group(path, "or")
    }

    /// `a or b or c` (word `or`) or `a and b and c` (word `and`), flattened into one group.
    fn group(&mut self, path: &str, word: &str) -> Parsed<Condition> {
        let start = self.start();
        let child = |i: usize| format!("{path}/of/{i}");
        let mut items = vec![self.operand(&child(0), word)?];
        while self.eat_word(word) {
            items.push(self.operand(&child(items.len()), word)?);
        }
        if items.len() == 1 {
            // No group after all: the single operand sits at `path`; move its spans there.
            let from = child(0);
            for (p, _) in &mut self.spans {
                if *p == from || p.starts_with(&format!("{from}/")) {
                    *p = format!("{path}{}", &p[from.len()..]);
                }
            }
            return Ok(items.remove(0));
        }
        self.record(path, start);
        Ok(if word == "or" { Condition::Any { of: items } } else { Condition::All { of: items } })
    }

    fn operand(&mut self, path: &str, word: &str) -> Parsed<Condition> {
        if word == "or" { self.group(path, "and") } else { self.unary(path) }
    }

    fn unary(&mut self, path: &str) -> Parsed<Condition> {
        let start = self.start();
        if self.eat_word("not") {
            let inner = self.unary(&format!("{path}/not"))?;
            self.record(path, start);
            return Ok(Condition::Not { not: Box::new(inner) });
        }
        if self.eat(Tok::Open) {
            let inner = self.expr(path)?;
            self.expect(Tok::Close, "close_paren")?;
            return Ok(inner);
        }
        let c = self.atom(path)?;
        self.record(path, start);
        Ok(c)
    }

    fn atom(&mut self, path: &str) -> Parsed<Condition> {
        let head = self.expect(Tok::Word, "condition")?;
        let span = (head.start, head.end);
        match head.text.as_str() {
            word @ ("tag" | "group") => {
                let mode = match self.next()?.text.as_str() {
                    "any" => TagMatch::Any,
                    "all" => TagMatch::All,
                    "none" => TagMatch::None,
                    other => return Err(spanned(path, "expected_any_all_none", other.into(), span)),
                };
                let names = self.strings()?;
                if word == "tag" {
                    let tags = names.iter().map(|(n, sp)| self.tag(n, *sp)).collect::<Parsed<Vec<_>>>()?;
                    return Ok(Condition::Tags { tags, mode });
                }
                let groups = names.iter().map(|(n, sp)| self.group_named(n, *sp)).collect::<Parsed<Vec<_>>>()?;
                Ok(Condition::Groups { groups, mode })
            }
            "has" => {
                let k = self.expect(Tok::Word, "identity_kind")?;
                let kind = IdentityKind::parse(&k.text)
                    .ok_or_else(|| spanned(path, "unknown_identity_kind", k.text.clone(), (k.start, k.end)))?;
                Ok(Condition::Identity { kind })
            }
            "follow" => self.follow(),
            "event" => self.event(path),
            "bought" => {
                let product = self.string()?.0;
                Ok(Condition::Bought { product, within_days: self.within()? })
            }
            "consent" => {
                let p = self.expect(Tok::Word, "purpose")?;
                let purpose = ConsentPurpose::parse(&p.text)
                    .ok_or_else(|| spanned(path, "unknown_purpose", p.text.clone(), (p.start, p.end)))?;
                let s = self.expect(Tok::Word, "status")?;
                let status = ConsentStatus::parse(&s.text)
                    .ok_or_else(|| spanned(path, "unknown_status", s.text.clone(), (s.start, s.end)))?;
                Ok(Condition::Consent { purpose, status })
            }
            "segment" => {
                let (name, sp) = self.string()?;
                let s = self
                    .catalog
                    .segments
                    .iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| spanned(path, "unknown_segment", name.clone(), sp))?;
                Ok(Condition::Segment { segment: s.id })
            }
            field => self.comparison(field.to_string(), span),
        }
    }

    fn comparison(&mut self, field: String, span: (usize, usize)) -> Parsed<Condition> {
        let t = self.next()?;
        let op = match (t.tok, t.text.as_str()) {
            (Tok::Cmp, "=") => Op::Eq,
            (Tok::Cmp, "!=") => Op::Ne,
            (Tok::Cmp, "<") => Op::Lt,
            (Tok::Cmp, "<=") => Op::Le,
            (Tok::Cmp, ">") => Op::Gt,
            (Tok::Cmp, ">=") => Op::Ge,
            (Tok::Word, "in") => Op::In,
            (Tok::Word, "contains") => Op::Contains,
            (Tok::Word, "starts_with") => Op::StartsWith,
            (Tok::Word, "within") => Op::WithinDays,
            (Tok::Word, "older_than") => Op::OlderThanDays,
            (Tok::Word, "has_any") => Op::HasAny,
            (Tok::Word, "has_all") => Op::HasAll,
            (Tok::Word, "is") => {
                let not = self.eat_word("not");
                let set = self.expect(Tok::Word, "set")?;
                if set.text != "set" {
                    return Err(spanned("", "expected_set", set.text, (set.start, set.end)));
                }
                return Ok(Condition::Field {
                    field,
                    op: if not { Op::IsNotSet } else { Op::IsSet },
                    value: Value::Null,
                });
            }
            _ => return Err(spanned("", "expected_comparison", t.text, (span.0, t.end))),
        };
        let value = match op {
            Op::In | Op::HasAny | Op::HasAll => Value::Array(self.strings()?.into_iter().map(|s| json!(s.0)).collect()),
            Op::WithinDays | Op::OlderThanDays => json!(self.days()?),
            _ => self.scalar()?,
        };
        Ok(Condition::Field { field, op, value })
    }

    fn follow(&mut self) -> Parsed<Condition> {
        let (mut staff, mut state, mut add_way, mut within_days) = (None, None, None, None);
        loop {
            if self.eat_word("staff") {
                let (name, sp) = self.string()?;
                let user = self
                    .catalog
                    .staff
                    .iter()
                    .find(|(_, username, display)| *username == name || *display == name)
                    .ok_or_else(|| spanned("", "unknown_staff", name.clone(), sp))?;
                staff = Some(user.0);
            } else if self.eat_word("state") {
                state = Some(self.string()?.0);
            } else if self.eat_word("add_way") {
                add_way = Some(self.string()?.0);
            } else if self.word_is("within") {
                within_days = self.within()?;
            } else {
                return Ok(Condition::Follow { staff, state, add_way, within_days });
            }
        }
    }

    fn event(&mut self, path: &str) -> Parsed<Condition> {
        let name = self.string()?.0;
        let (mut op, mut count) = (CountOp::Ge, 1);
        if let Some(t) = self.peek().filter(|t| t.tok == Tok::Cmp).cloned() {
            self.pos += 1;
            op = match t.text.as_str() {
                "=" => CountOp::Eq,
                ">=" => CountOp::Ge,
                "<=" => CountOp::Le,
                other => return Err(spanned(path, "expected_count_comparison", other.into(), (t.start, t.end))),
            };
            let n = self.expect(Tok::Number, "count")?;
            count = n.text.parse().map_err(|_| spanned(path, "expected_count", n.text.clone(), (n.start, n.end)))?;
        }
        let within_days = self.within()?;
        let mut filters = Vec::new();
        if self.eat_word("where") {
            self.expect(Tok::Open, "open_paren")?;
            loop {
                let start = self.start();
                let key = self.expect(Tok::Word, "property")?.text;
                let t = self.expect(Tok::Cmp, "comparison")?;
                let op = match t.text.as_str() {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    _ => Op::Ge,
                };
                filters.push(PropertyFilter { key, op, value: self.scalar()? });
                self.record(&format!("{path}/where/{}", filters.len() - 1), start);
                if !self.eat(Tok::Comma) {
                    break;
                }
            }
            self.expect(Tok::Close, "close_paren")?;
        }
        Ok(Condition::Event { name, op, count, within_days, filters })
    }

    fn within(&mut self) -> Parsed<Option<u32>> {
        if self.eat_word("within") { self.days().map(Some) } else { Ok(None) }
    }

    fn days(&mut self) -> Parsed<u32> {
        let t = self.expect(Tok::Days, "days")?;
        t.text.trim_end_matches('d').parse().map_err(|_| spanned("", "expected_days", t.text.clone(), (t.start, t.end)))
    }

    fn string(&mut self) -> Parsed<(String, (usize, usize))> {
        let t = self.expect(Tok::Str, "string")?;
        Ok((t.text, (t.start, t.end)))
    }

    fn strings(&mut self) -> Parsed<Vec<(String, (usize, usize))>> {
        self.expect(Tok::OpenList, "list")?;
        let mut out = Vec::new();
        if self.eat(Tok::CloseList) {
            return Ok(out);
        }
        loop {
            out.push(self.string()?);
            if !self.eat(Tok::Comma) {
                break;
            }
        }
        self.expect(Tok::CloseList, "close_list")?;
        Ok(out)
    }

    fn scalar(&mut self) -> Parsed<Value> {
        self.next()?.value()
    }

    fn tag(&self, name: &str, span: (usize, usize)) -> Parsed<TagId> {
        let hits: Vec<_> = match name.split_once('/') {
            Some((group, tag)) => self.catalog.tags.iter().filter(|(_, g, n)| g == group && n == tag).collect(),
            None => self.catalog.tags.iter().filter(|(_, _, n)| n == name).collect(),
        };
        one(&hits, "tag", name, span).map(|t| t.0)
    }

    /// A customer group by its name when no other group has it, else by its id (as the printer writes it).
    fn group_named(&self, name: &str, span: (usize, usize)) -> Parsed<GroupId> {
        let groups = &self.catalog.groups;
        let hits: Vec<GroupId> = match name.parse().ok().filter(|id| groups.iter().any(|(g, _)| g == id)) {
            Some(id) => vec![id],
            None => groups.iter().filter(|(_, n)| n == name).map(|g| g.0).collect(),
        };
        one(&hits, "group", name, span)
    }
}

/// The one reference a name resolves to: none is `unknown_<what>`, several are `ambiguous_<what>`.
fn one<T: Copy>(hits: &[T], what: &str, name: &str, span: (usize, usize)) -> Parsed<T> {
    match hits {
        [one] => Ok(*one),
        [] => Err(spanned("", &format!("unknown_{what}"), name.into(), span)),
        _ => Err(spanned("", &format!("ambiguous_{what}"), name.into(), span)),
    }
}

#[cfg(test)]
mod tests;
