//! Thumbnails of image materials (and posters): decoded with the pure-Rust `image` crate (PNG, JPEG, GIF,
//! WebP only), at most [`MAX_SIDE`] pixels on the longer side, stored as PNG. An image that cannot be
//! decoded is refused (`material_corrupt_image`); huge dimensions are refused before decoding.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use siyu_domain::material::{MaterialError, Sniffed};

/// The longer side of a thumbnail, in pixels.
pub const MAX_SIDE: u32 = 320;
/// The largest image decoded (each side), so that a small file cannot claim gigabytes of pixels.
pub const MAX_DIMENSION: u32 = 12_000;

/// A decoded image's size and its thumbnail (PNG bytes).
#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub png: Vec<u8>,
}

fn format_of(sniffed: Sniffed) -> Option<ImageFormat> {
    match sniffed {
        Sniffed::Png => Some(ImageFormat::Png),
        Sniffed::Jpeg => Some(ImageFormat::Jpeg),
        Sniffed::Gif => Some(ImageFormat::Gif),
        Sniffed::Webp => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decodes `bytes` (already sniffed as `sniffed`) and makes its thumbnail. CPU-bound: call it on a
/// blocking thread.
pub fn make(bytes: &[u8], sniffed: Sniffed) -> Result<Thumbnail, MaterialError> {
    let format = format_of(sniffed).ok_or(MaterialError::CorruptImage)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let image = reader.decode().map_err(|_| MaterialError::CorruptImage)?;
    let (width, height) = (image.width(), image.height());
    let thumb = if width.max(height) > MAX_SIDE { image.thumbnail(MAX_SIDE, MAX_SIDE) } else { image };
    let mut png = Vec::new();
    thumb.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).map_err(|_| MaterialError::CorruptImage)?;
    Ok(Thumbnail { width, height, png })
}

/// A small PNG drawn in code (tests and the demo): a `w`×`h` gradient in the brand colours.
pub fn sample_png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let r = (x * 255 / w.max(1)) as u8;
        let g = (y * 255 / h.max(1)) as u8;
        image::Rgb([r, g, seed])
    });
    let mut png = Vec::new();
    let _ = image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut png), ImageFormat::Png);
    png
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_large_image_gets_a_thumbnail_at_most_320_pixels_on_its_longer_side() {
        let png = sample_png(800, 400, 7);
        let t = make(&png, Sniffed::Png).unwrap();
        assert_eq!((t.width, t.height), (800, 400));
        let thumb = image::load_from_memory(&t.png).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
    }

    #[test]
    fn an_image_that_cannot_be_decoded_is_refused() {
        let mut png = sample_png(64, 64, 1);
        png.truncate(40);
        assert_eq!(make(&png, Sniffed::Png).unwrap_err(), MaterialError::CorruptImage);
        assert_eq!(make(b"\xff\xd8\xff garbage", Sniffed::Jpeg).unwrap_err(), MaterialError::CorruptImage);
    }
}
