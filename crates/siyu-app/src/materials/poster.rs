//! Posters (海报) drawn for a staff member: the poster's image with a QR code of that staff member's tracked
//! link of the poster (material × staff, no customer: the link a staff member shares in moments and groups)
//! in the poster's QR slot. Opening the code is an open of that link, so the radar, the open tags and the
//! staff member's alert work for posters as for any material link.
//!
//! The code is drawn from the modules of the pure-Rust `qrcode` encoder (error correction M, a quiet zone of
//! four modules, whole pixels per module when the slot allows it) onto the decoded image with `image`, and
//! the PNG is cached in the blob store under a key derived from (material, version, staff member, short
//! URL), so each version is drawn once per staff member and a new version or another address draws anew.
//! The sidebar sends that file, and a tracked link's landing page shows it (`link_landing_picture`).

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits, Rgba, RgbaImage};
use qrcode::{Color, EcLevel, QrCode};
use siyu_domain::id::{MaterialId, TenantId, UserId};
use siyu_domain::link::{LinkTarget, NewLink};
use siyu_domain::material::{MaterialContent, MaterialError, MaterialKind, QrSlot};
use siyu_store::links::{LinkQuery, LinkRow};
use siyu_store::materials::MaterialRow;

use super::MaterialFile;
use super::blobs::BlobKey;
use super::thumbnail::MAX_DIMENSION;
use crate::error::{AppError, AppResult};
use crate::links::triple_key;
use crate::{Actor, App};

/// Bumped when the drawing changes, so cached posters are drawn again.
const REVISION: u32 = 1;
/// Modules of white around the code (the QR specification's quiet zone).
const QUIET: usize = 4;

/// The cache key of a poster drawn for a staff member whose code says `url`.
fn cache_key(tenant: TenantId, material: MaterialId, version: i64, staff: UserId, url: &str) -> BlobKey {
    BlobKey::derived(tenant, &format!("poster:{REVISION}:{}:{version}:{}:{url}", material.0, staff.0))
}

/// Draws a QR code of `text` into `slot` (the bottom-right default when `None`) of the image `bytes` and
/// returns the poster as PNG. CPU-bound: call it on a blocking thread.
pub fn render(bytes: &[u8], slot: Option<QrSlot>, text: &str) -> AppResult<Vec<u8>> {
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| MaterialError::CorruptImage)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let mut image = reader.decode().map_err(|_| MaterialError::CorruptImage)?.into_rgba8();
    let (w, h) = image.dimensions();
    let slot = slot.unwrap_or_else(|| QrSlot::default_for(w, h));
    if !slot.fits(w, h) {
        return Err(AppError::invalid("content.qr", "outside_image"));
    }
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| AppError::invalid("content.qr", "text_too_long"))?;
    draw(&mut image, slot, &code);
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(image)
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(AppError::internal)?;
    Ok(png)
}

/// Paints the slot white and the code's dark modules black: whole pixels per module, centred, when the slot
/// holds at least one pixel per module; otherwise modules stretched over the slot.
fn draw(image: &mut RgbaImage, slot: QrSlot, code: &QrCode) {
    let modules = code.width();
    let colors = code.to_colors();
    let total = modules + 2 * QUIET;
    let size = slot.size as usize;
    let dark = |mx: usize, my: usize| -> bool {
        let (Some(x), Some(y)) = (mx.checked_sub(QUIET), my.checked_sub(QUIET)) else { return false };
        x < modules && y < modules && colors[y * modules + x] == Color::Dark
    };
    let scale = size / total;
    let offset = (size - scale * total) / 2;
    for py in 0..size {
        for px in 0..size {
            let is_dark = if scale >= 1 {
                match (px.checked_sub(offset), py.checked_sub(offset)) {
                    (Some(x), Some(y)) if x < scale * total && y < scale * total => dark(x / scale, y / scale),
                    _ => false,
                }
            } else {
                dark(px * total / size, py * total / size)
            };
            let c = if is_dark { Rgba([0, 0, 0, 255]) } else { Rgba([255, 255, 255, 255]) };
            image.put_pixel(slot.x + px as u32, slot.y + py as u32, c);
        }
    }
}

impl App {
    /// A poster material drawn for `staff` (default: the actor) with the QR code of the staff member's
    /// tracked link of the poster, minted on first use (the actor needs `customers_write` and the staff
    /// member in their data scope, like any mint). Cached per version and staff member in the blob store.
    pub async fn material_poster(
        &self,
        actor: &Actor,
        id: MaterialId,
        staff: Option<UserId>,
    ) -> AppResult<MaterialFile> {
        let material = self.get_material(actor, id).await?;
        if material.kind != MaterialKind::Poster {
            return Err(AppError::invalid("kind", "not_a_poster"));
        }
        let staff = staff.unwrap_or(actor.user);
        let new = NewLink { material_id: Some(id.0), staff_id: staff, ..NewLink::default() };
        let (link, _) = self.mint_link(actor, &new).await?;
        self.drawn_poster(actor.tenant, id, staff, &link.code).await
    }

    /// The poster's current version drawn with the QR code of `code` (`staff`'s own link of the poster): the
    /// cached drawing, or drawn now and cached.
    async fn drawn_poster(
        &self,
        tenant: TenantId,
        id: MaterialId,
        staff: UserId,
        code: &str,
    ) -> AppResult<MaterialFile> {
        let url = self.short_url(code);
        let row = self.store.materials().get(tenant, id).await?;
        let v = self.store.materials().version(tenant, id, row.version).await?;
        let key = cache_key(tenant, id, v.version, staff, &url);
        let name = format!("{}.poster.png", v.file_name.clone().unwrap_or_else(|| "poster".into()));
        match self.blobs.get(&key).await {
            Ok(bytes) => return Ok(MaterialFile { mime: "image/png".into(), file_name: name, bytes }),
            Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let file = self.file_of(tenant, &v, false).await?;
        let slot = serde_json::from_str::<MaterialContent>(&v.content).unwrap_or_default().qr;
        let png = tokio::task::spawn_blocking(move || render(&file.bytes, slot, &url))
            .await
            .map_err(AppError::internal)??;
        self.blobs.put(&key, &png).await?;
        Ok(MaterialFile { mime: "image/png".into(), file_name: name, bytes: png })
    }

    /// The picture a tracked link's landing page shows of its material (`/l/{code}/file`). A poster is shown
    /// as drawn for the link's staff member — the QR code of their own link of the poster, the very file the
    /// sidebar sends, from the same cache — whichever of their links (their own, or one per customer) was
    /// opened. The plain poster when the member has no such link (they never drew or shared the poster),
    /// is no longer an active member, or the drawing fails; any other material: its file.
    pub(crate) async fn link_landing_picture(
        &self,
        tenant: TenantId,
        l: &LinkRow,
        id: MaterialId,
    ) -> AppResult<MaterialFile> {
        let row = self.store.materials().get(tenant, id).await?;
        if row.kind == MaterialKind::Poster.as_str()
            && let Some(code) = self.staff_poster_code(tenant, l, id).await?
        {
            match self.drawn_poster(tenant, id, UserId(l.staff_id), &code).await {
                Ok(file) => return Ok(file),
                Err(AppError::NotFound) => return Err(AppError::NotFound),
                Err(e) => tracing::warn!(material = %id, error = %e, "drawing a poster failed; showing it plain"),
            }
        }
        self.material_landing_file(tenant, id, false).await
    }

    /// The code of the link's staff member's own link of the poster (no customer), if minted and the member
    /// is active.
    async fn staff_poster_code(&self, tenant: TenantId, l: &LinkRow, id: MaterialId) -> AppResult<Option<String>> {
        let staff = UserId(l.staff_id);
        match self.store.members().get(tenant, staff).await {
            Ok(m) if m.active => {}
            Ok(_) | Err(siyu_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        if l.customer_id.is_none() {
            return Ok(Some(l.code.clone()));
        }
        let key = triple_key(&LinkTarget::Material(id.0), staff, None);
        Ok(self.store.links().by_triple(tenant, &key).await?.map(|own| own.code))
    }

    /// The cache keys of every poster drawn of a material (its staff members' links × its versions), so that
    /// deleting the material removes them. Best effort: nothing when they cannot be listed.
    pub(crate) async fn rendered_poster_keys(&self, tenant: TenantId, row: &MaterialRow) -> Vec<BlobKey> {
        if row.kind != MaterialKind::Poster.as_str() {
            return Vec::new();
        }
        let id = MaterialId(row.id);
        let q = LinkQuery { material: Some(row.id), limit: 10_000, ..LinkQuery::default() };
        let (Ok(links), Ok(versions)) =
            (self.store.links().list(tenant, &q).await, self.store.materials().versions(tenant, id).await)
        else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        for l in links.iter().filter(|l| l.customer_id.is_none()) {
            let url = self.short_url(&l.code);
            for v in &versions {
                keys.push(cache_key(tenant, id, v.version, UserId(l.staff_id), &url));
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::materials::thumbnail::sample_png;

    fn read_back(png: &[u8], slot: QrSlot) -> String {
        let img = image::load_from_memory(png).unwrap().into_luma8();
        let margin = 8;
        let (x0, y0) = (slot.x.saturating_sub(margin), slot.y.saturating_sub(margin));
        let side = slot.size + 2 * margin;
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(side as usize, side as usize, |x, y| {
            let (px, py) = (x0 + x as u32, y0 + y as u32);
            if px < img.width() && py < img.height() { img.get_pixel(px, py).0[0] } else { 255 }
        });
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one code in the slot");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn a_poster_keeps_its_size_and_its_slot_reads_back_as_the_link() {
        let poster = sample_png(600, 900, 90);
        let slot = QrSlot { x: 380, y: 660, size: 200 };
        let url = "https://crm.example.com/l/Ab3De0000000000x";
        let png = render(&poster, Some(slot), url).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (600, 900));
        assert_eq!(read_back(&png, slot), url);
        // Outside the slot the poster is untouched.
        let before = image::load_from_memory(&poster).unwrap().into_rgba8();
        let after = img.into_rgba8();
        assert_eq!(before.get_pixel(10, 10), after.get_pixel(10, 10));
        assert_eq!(before.get_pixel(379, 659), after.get_pixel(379, 659));
    }

    #[test]
    fn a_poster_without_a_slot_gets_the_code_in_its_bottom_right_corner() {
        let png = render(&sample_png(750, 1334, 3), None, "https://crm.example.com/l/x").unwrap();
        assert_eq!(read_back(&png, QrSlot::default_for(750, 1334)), "https://crm.example.com/l/x");
    }

    #[test]
    fn a_slot_outside_the_image_or_an_undecodable_image_is_refused() {
        let err = render(&sample_png(100, 100, 1), Some(QrSlot { x: 80, y: 0, size: 40 }), "x").unwrap_err();
        assert!(matches!(err, AppError::Invalid(_)), "{err:?}");
        let err = render(b"\x89PNG\r\n\x1a\nbroken", None, "x").unwrap_err();
        assert!(matches!(err, AppError::Material(MaterialError::CorruptImage)), "{err:?}");
    }
}
