//! Tokens of the text form. Strings are double-quoted with `\"`, `\\`, `\n` and `\t` escapes; a number
//! directly followed by `d` is a day count (`30d`).

use serde_json::{Value, json};

use super::spanned;
use crate::segment::check::DefinitionError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Word,
    Str,
    Number,
    Days,
    Cmp,
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    /// The word, the unescaped string, the number or the comparison.
    pub text: String,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// A literal's value: a string, a number (integral ones as integers) or `true` / `false`.
    pub(super) fn value(self) -> Result<Value, DefinitionError> {
        match self.tok {
            Tok::Str => Ok(Value::String(self.text)),
            Tok::Number => self
                .text
                .parse::<f64>()
                .ok()
                .and_then(|f| {
                    if f.fract() == 0.0 && f.abs() < 9e15 {
                        Some(json!(f as i64))
                    } else {
                        serde_json::Number::from_f64(f).map(Value::Number)
                    }
                })
                .ok_or_else(|| spanned("", "expected_number", self.text.clone(), (self.start, self.end))),
            Tok::Word if self.text == "true" || self.text == "false" => Ok(Value::Bool(self.text == "true")),
            _ => Err(spanned("", "expected_value", self.text, (self.start, self.end))),
        }
    }
}

/// Longest text form accepted, in bytes.
pub const MAX_TEXT: usize = 20_000;

pub(super) fn lex(src: &str) -> Result<Vec<Token>, DefinitionError> {
    if src.len() > MAX_TEXT {
        return Err(spanned("", "too_long", MAX_TEXT.to_string(), (0, src.len())));
    }
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(start, c)) = it.peek() {
        let single = |tok: Tok| Token { tok, text: c.to_string(), start, end: start + c.len_utf8() };
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' | '（' => {
                out.push(single(Tok::Open));
                it.next();
            }
            ')' | '）' => {
                out.push(single(Tok::Close));
                it.next();
            }
            '[' => {
                out.push(single(Tok::OpenList));
                it.next();
            }
            ']' => {
                out.push(single(Tok::CloseList));
                it.next();
            }
            ',' | '，' => {
                out.push(single(Tok::Comma));
                it.next();
            }
            '=' | '!' | '<' | '>' => {
                it.next();
                let two = it.peek().is_some_and(|&(_, n)| n == '=');
                if two {
                    it.next();
                }
                let text = if two { format!("{c}=") } else { c.to_string() };
                if text == "!" {
                    return Err(spanned("", "unexpected_character", text, (start, start + 1)));
                }
                let end = start + text.len();
                out.push(Token { tok: Tok::Cmp, text, start, end });
            }
            '"' | '“' => {
                it.next();
                let mut text = String::new();
                let mut end = None;
                while let Some((i, ch)) = it.next() {
                    match ch {
                        '"' | '”' => {
                            end = Some(i + ch.len_utf8());
                            break;
                        }
                        '\\' => match it.next() {
                            Some((_, 'n')) => text.push('\n'),
                            Some((_, 't')) => text.push('\t'),
                            Some((_, e @ ('"' | '\\'))) => text.push(e),
                            Some((j, e)) => {
                                return Err(spanned("", "bad_escape", format!("\\{e}"), (i, j + e.len_utf8())));
                            }
                            None => break,
                        },
                        ch => text.push(ch),
                    }
                }
                let end = end.ok_or_else(|| spanned("", "unterminated_string", text.clone(), (start, src.len())))?;
                out.push(Token { tok: Tok::Str, text, start, end });
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let mut end = start;
                let mut text = String::new();
                while let Some(&(i, ch)) = it.peek() {
                    let sign = (ch == '-' || ch == '+') && (text.is_empty() || text.ends_with(['e', 'E']));
                    if ch.is_ascii_digit() || ch == '.' || ch == 'e' || ch == 'E' || sign {
                        text.push(ch);
                        end = i + 1;
                        it.next();
                    } else {
                        break;
                    }
                }
                if it.peek().is_some_and(|&(_, ch)| ch == 'd') && text.chars().all(|c| c.is_ascii_digit()) {
                    it.next();
                    text.push('d');
                    out.push(Token { tok: Tok::Days, text, start, end: end + 1 });
                } else {
                    out.push(Token { tok: Tok::Number, text, start, end });
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let mut end = start;
                let mut text = String::new();
                while let Some(&(i, ch)) = it.peek() {
                    if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' || ch == '$' {
                        text.push(ch);
                        end = i + 1;
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push(Token { tok: Tok::Word, text, start, end });
            }
            other => {
                return Err(spanned("", "unexpected_character", other.to_string(), (start, start + other.len_utf8())));
            }
        }
    }
    Ok(out)
}
