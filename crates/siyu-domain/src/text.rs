//! Length and content rules for free text that users type.

use crate::Invalid;

/// Trims `value` and checks it is non-empty and at most `max` characters (not bytes: names are Chinese).
pub fn required(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Invalid::new(field, "required"));
    }
    bounded(field, v, max)
}

/// Trims `value`; an empty string becomes `None`; longer than `max` characters is invalid.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded(field, v, max).map(Some),
    }
}

fn bounded(field: &str, v: &str, max: usize) -> Result<String, Invalid> {
    if v.chars().count() > max {
        return Err(Invalid::new(field, format!("too_long (max {max} characters)")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::new(field, "control_characters"));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_is_trimmed_and_counted_in_characters() {
        assert_eq!(required("name", "  张三  ", 2).unwrap(), "张三");
        assert!(required("name", "张三丰", 2).is_err());
        assert!(required("name", "   ", 2).is_err());
    }

    #[test]
    fn optional_text_turns_blank_into_none() {
        assert_eq!(optional("remark", Some(" "), 5).unwrap(), None);
        assert_eq!(optional("remark", None, 5).unwrap(), None);
    }

    #[test]
    fn control_characters_are_rejected() {
        assert!(required("name", "a\u{0}b", 10).is_err());
    }
}
