//! The fast path of [`super::parse`]: WeCom's callbacks are one flat `<xml>` of children that each hold one
//! CDATA section or plain text (and `MemChangeList`, a list of such `Item`s). This reads exactly that shape
//! in one pass over the bytes, with no events or intermediate strings, and gives up (`None`) on anything
//! else: attributes, comments, entities, carriage returns, nested or empty elements, a prefix, a mismatched
//! end tag. The caller then parses the text with quick-xml, so a document this path declines gets the
//! general parser's answer, and one it accepts gets the same fields the general parser would have read (a
//! property test checks both on generated documents).

use std::sync::LazyLock;

use memchr::memmem;

use super::parse::Fields;

/// The fields of a flat callback document, or `None` when the text is not of that simple shape.
pub(super) fn read(xml: &str) -> Option<Fields> {
    let mut at = Cursor { text: xml, pos: 0 };
    at.skip_space();
    at.expect("<xml>")?;
    let mut fields = Fields::default();
    loop {
        at.skip_space();
        if at.eat("</xml>") {
            // The general parser stops at the root's end tag too, whatever follows.
            return Some(fields);
        }
        at.expect("<")?;
        let name = at.name()?;
        at.expect(">")?;
        if name == "MemChangeList" {
            loop {
                at.skip_space();
                if at.eat("</MemChangeList>") {
                    break;
                }
                at.expect("<Item>")?;
                let item = at.value()?;
                at.expect("</Item>")?;
                fields.mem_change_list.push(item.to_owned());
            }
            continue;
        }
        let value = at.value()?;
        at.expect("</")?;
        if at.name()? != name {
            return None;
        }
        at.expect(">")?;
        if let Some(slot) = fields.slot(name) {
            *slot = Some(value.to_owned());
        }
    }
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn eat(&mut self, token: &str) -> bool {
        let found = self.rest().starts_with(token);
        if found {
            self.pos += token.len();
        }
        found
    }

    fn expect(&mut self, token: &str) -> Option<()> {
        self.eat(token).then_some(())
    }

    /// Spaces, tabs and newlines between elements (a carriage return is left to the general parser).
    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n']).len();
    }

    /// An element name of ASCII letters, digits and `_` (no prefix, no attributes).
    fn name(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        let name = rest.get(..len).filter(|n| n.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()))?;
        self.pos += len;
        Some(name)
    }

    /// An element's content up to its end tag: one CDATA section kept as sent, or text without markup,
    /// entities or carriage returns, trimmed as the general parser trims it.
    fn value(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        if let Some(body) = rest.strip_prefix("<![CDATA[") {
            static END: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("]]>"));
            let len = END.find(body.as_bytes())?;
            let value = body.get(..len)?;
            if value.contains('\r') {
                return None;
            }
            self.pos += "<![CDATA[".len() + len + "]]>".len();
            return Some(value);
        }
        let len = memchr::memchr(b'<', rest.as_bytes())?;
        let text = rest.get(..len)?;
        if text.contains(['&', '\r']) {
            return None;
        }
        self.pos += len;
        Some(text.trim())
    }
}
