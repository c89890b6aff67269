//! What a file really is, from its first bytes (magic numbers). The file's name and the Content-Type a
//! client sends are never believed: a PNG named `x.exe` is a PNG, an HTML page named `x.jpg` is HTML.

/// A recognised file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Png,
    Jpeg,
    Gif,
    Webp,
    Mp4,
    QuickTime,
    Webm,
    Mp3,
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Zip,
    /// An OLE compound file: .doc, .xls, .ppt of old.
    Ole,
    /// UTF-8 text without markup (txt, csv).
    Text,
    /// A program: PE (MZ), ELF, Mach-O or a `#!` script.
    Executable,
    /// An HTML page (or text carrying `<script`): would run in the browser if served as a page.
    Html,
    /// An SVG drawing: may carry scripts, never accepted as an image.
    Svg,
    Unknown,
}

/// What a type may be used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Image,
    Video,
    Document,
    /// Never stored: programs and active content.
    Forbidden,
    Unknown,
}

impl Sniffed {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Mp4 => "video/mp4",
            Self::QuickTime => "video/quicktime",
            Self::Webm => "video/webm",
            Self::Mp3 => "audio/mpeg",
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Self::Zip => "application/zip",
            Self::Ole => "application/x-ole-storage",
            Self::Text => "text/plain; charset=utf-8",
            Self::Executable => "application/x-executable",
            Self::Html => "text/html",
            Self::Svg => "image/svg+xml",
            Self::Unknown => "application/octet-stream",
        }
    }

    /// A short name for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Mp4 => "mp4",
            Self::QuickTime => "mov",
            Self::Webm => "webm",
            Self::Mp3 => "mp3",
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Zip => "zip",
            Self::Ole => "ole",
            Self::Text => "text",
            Self::Executable => "executable",
            Self::Html => "html",
            Self::Svg => "svg",
            Self::Unknown => "unknown",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Self::Png | Self::Jpeg | Self::Gif | Self::Webp => Family::Image,
            Self::Mp4 | Self::QuickTime | Self::Webm => Family::Video,
            Self::Mp3 | Self::Pdf | Self::Docx | Self::Xlsx | Self::Pptx | Self::Zip | Self::Ole | Self::Text => {
                Family::Document
            }
            Self::Executable | Self::Html | Self::Svg => Family::Forbidden,
            Self::Unknown => Family::Unknown,
        }
    }
}

/// The type of `bytes`, from their content alone.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Png;
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Jpeg;
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Sniffed::Gif;
    }
    if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Sniffed::Webp;
    }
    if bytes.get(4..8) == Some(b"ftyp") {
        return if bytes.get(8..12) == Some(b"qt  ") { Sniffed::QuickTime } else { Sniffed::Mp4 };
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Sniffed::Webm;
    }
    if starts(b"ID3") || starts(&[0xFF, 0xFB]) || starts(&[0xFF, 0xF3]) {
        return Sniffed::Mp3;
    }
    if starts(b"%PDF-") {
        return Sniffed::Pdf;
    }
    if starts(b"PK\x03\x04") {
        let head = &bytes[..bytes.len().min(4096)];
        let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        return if has(b"word/") {
            Sniffed::Docx
        } else if has(b"xl/") {
            Sniffed::Xlsx
        } else if has(b"ppt/") {
            Sniffed::Pptx
        } else {
            Sniffed::Zip
        };
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Sniffed::Ole;
    }
    if starts(b"MZ")
        || starts(b"\x7fELF")
        || starts(&[0xFE, 0xED, 0xFA, 0xCE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCF])
        || starts(&[0xCE, 0xFA, 0xED, 0xFE])
        || starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xCA, 0xFE, 0xBA, 0xBE])
        || starts(b"#!")
    {
        return Sniffed::Executable;
    }
    text_kind(bytes)
}

/// Text: markup that a browser would run, or plain UTF-8; anything else is unknown.
fn text_kind(bytes: &[u8]) -> Sniffed {
    let head = &bytes[..bytes.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if has(b"<svg") {
        return Sniffed::Svg;
    }
    let trimmed = {
        let t = lower.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&lower);
        let start = t.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(t.len());
        &t[start..]
    };
    const MARKUP: [&[u8]; 8] =
        [b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<?xml", b"<!--"];
    if MARKUP.iter().any(|m| trimmed.starts_with(m)) || has(b"<script") || has(b"javascript:") {
        return Sniffed::Html;
    }
    // A cut in the middle of a character at the end of the sniffed window is still text.
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() == 4096,
    };
    if valid && !head.is_empty() && !head.contains(&0) { Sniffed::Text } else { Sniffed::Unknown }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_videos_and_documents_are_known_by_their_magic_numbers() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Sniffed::Png);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Sniffed::Jpeg);
        assert_eq!(sniff(b"GIF89a\x01\0"), Sniffed::Gif);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Sniffed::Webp);
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\x02\0"), Sniffed::Mp4);
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\x02\0"), Sniffed::QuickTime);
        assert_eq!(sniff(b"%PDF-1.7\n"), Sniffed::Pdf);
        assert_eq!(sniff(b"PK\x03\x04....word/document.xml"), Sniffed::Docx);
        assert_eq!(sniff("姓名,电话\n王,1".as_bytes()), Sniffed::Text);
    }

    #[test]
    fn programs_pages_and_svg_are_forbidden_whatever_their_name() {
        for bytes in [&b"MZ\x90\0"[..], b"\x7fELF\x02\x01", b"#!/bin/sh\nrm -rf /", b"\xca\xfe\xba\xbe"] {
            assert_eq!(sniff(bytes).family(), Family::Forbidden, "{bytes:?}");
        }
        assert_eq!(sniff(b"  <!DOCTYPE html><html></html>"), Sniffed::Html);
        assert_eq!(sniff(b"hello <script>alert(1)</script>"), Sniffed::Html);
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg onload=\"x()\"/>"), Sniffed::Svg);
        assert_eq!(sniff(b"\0\x01\x02garbage"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }
}
