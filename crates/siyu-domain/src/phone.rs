//! Phone numbers: parsing into E.164, masking for display, and spotting masked input.
//!
//! Chinese mainland mobiles are the common case (`13812345678`, `+86 138-1234-5678`, `0086 13812345678`).
//! Other countries are accepted in explicit international form (`+44 20 7946 0958`).

use std::fmt;

use crate::DomainError;

/// A phone number normalised to E.164 (`+8613812345678`). Its `Debug` is masked so it never leaks into logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses user input. Rejects masked numbers (`138****5678`) with [`DomainError::MaskedPhone`].
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let raw = input.trim();
        if raw.contains('*') || raw.contains('＊') {
            return Err(DomainError::MaskedPhone);
        }
        let invalid = || DomainError::invalid("phone", "invalid_phone");
        let mut digits = String::with_capacity(raw.len());
        let mut plus = false;
        for (i, c) in raw.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(invalid()),
            }
        }
        let international = if plus { Some(digits.as_str()) } else { digits.strip_prefix("00") };
        let e164 = match international {
            Some(rest) => {
                if let Some(national) = rest.strip_prefix("86") {
                    cn_mobile(national).ok_or_else(invalid)?
                } else if (8..=15).contains(&rest.len()) && !rest.starts_with('0') {
                    format!("+{rest}")
                } else {
                    return Err(invalid());
                }
            }
            None => cn_mobile(&digits).ok_or_else(invalid)?,
        };
        Ok(Self(e164))
    }

    /// The E.164 form, e.g. `+8613812345678`.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The national significant number for CN mobiles (`13812345678`), else the E.164 form.
    pub fn national(&self) -> &str {
        self.0.strip_prefix("+86").unwrap_or(&self.0)
    }

    /// Masked for display: `138****5678`; non-CN numbers keep the country code and last four digits.
    pub fn masked(&self) -> String {
        mask(self.national())
    }
}

/// Masks any phone-like string, keeping the first three and last four characters.
pub fn mask(national: &str) -> String {
    let chars: Vec<char> = national.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

fn cn_mobile(national: &str) -> Option<String> {
    let ok = national.len() == 11
        && national.starts_with('1')
        && national.as_bytes().get(1).is_some_and(|b| (b'3'..=b'9').contains(b));
    ok.then(|| format!("+86{national}"))
}

/// Test and placeholder numbers that must never identify a person.
pub fn is_placeholder(phone: &Phone) -> bool {
    let n = phone.national();
    let digits: Vec<u8> = n.bytes().filter(u8::is_ascii_digit).collect();
    let all_same = digits.windows(2).all(|w| w[0] == w[1]) || digits[1..].windows(2).all(|w| w[0] == w[1]);
    all_same || n == "12345678901" || n == "13800138000" || n.ends_with("00000000")
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chinese_mobiles_in_every_common_spelling_normalise_to_e164() {
        for s in ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "+8613812345678", " 138.1234.5678 "] {
            assert_eq!(Phone::parse(s).unwrap().e164(), "+8613812345678", "{s}");
        }
    }

    #[test]
    fn international_numbers_need_a_plus_or_double_zero() {
        assert_eq!(Phone::parse("+44 20 7946 0958").unwrap().e164(), "+442079460958");
        assert!(Phone::parse("2079460958").is_err());
    }

    #[test]
    fn masked_numbers_are_recognised_and_refused() {
        assert_eq!(Phone::parse("138****5678"), Err(DomainError::MaskedPhone));
    }

    #[test]
    fn garbage_is_invalid() {
        for s in ["", "abc", "1381234567", "23812345678", "+86 12812345678", "138123456789", "+"] {
            assert!(Phone::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn masking_keeps_three_and_four() {
        assert_eq!(Phone::parse("13812345678").unwrap().masked(), "138****5678");
        assert_eq!(format!("{:?}", Phone::parse("13812345678").unwrap()), "Phone(138****5678)");
    }

    #[test]
    fn placeholder_numbers_are_spotted() {
        assert!(is_placeholder(&Phone::parse("13800138000").unwrap()));
        assert!(is_placeholder(&Phone::parse("11111111111").unwrap_or_else(|_| Phone("+8611111111111".into()))));
        assert!(!is_placeholder(&Phone::parse("13812345678").unwrap()));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Phone::parse(&s);
        }

        #[test]
        fn a_parsed_phone_parses_again_to_itself(n in "1[3-9][0-9]{9}") {
            let p = Phone::parse(&n).unwrap();
            prop_assert_eq!(Phone::parse(p.e164()).unwrap(), p);
        }
    }
}
