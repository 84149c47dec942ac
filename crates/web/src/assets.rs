//! The embedded stylesheet and script, served under content-hashed names
//! (`/assets/skep.<hash>.css`) with a one-year immutable cache: a new build changes the name,
//! so browsers never run a stale script and never re-download an unchanged one.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

/// An embedded file.
struct Asset {
    name: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
}

const FILES: [Asset; 2] = [
    Asset {
        name: "skep.css",
        bytes: include_bytes!("../assets/skep.css"),
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        name: "skep.js",
        bytes: include_bytes!("../assets/skep.js"),
        content_type: "text/javascript; charset=utf-8",
    },
];

/// `(url, file)` of every asset, the url carrying the first 12 hex digits of its SHA-256.
static URLS: LazyLock<Vec<(String, &'static Asset)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|asset| {
            let digest = hex::encode(Sha256::digest(asset.bytes));
            let (stem, extension) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
            (
                format!("/assets/{stem}.{}.{extension}", &digest[..12]),
                asset,
            )
        })
        .collect()
});

/// The hashed URL of an embedded asset (`"skep.css"`, `"skep.js"`); `/assets/missing` for an
/// unknown name, so a typo shows as a 404 in the browser rather than a panic.
pub fn url(name: &str) -> &'static str {
    URLS.iter()
        .find(|(_, asset)| asset.name == name)
        .map(|(url, _)| url.as_str())
        .unwrap_or("/assets/missing")
}

/// The stylesheet's URL.
pub fn stylesheet() -> &'static str {
    url("skep.css")
}

/// The script's URL.
pub fn script() -> &'static str {
    url("skep.js")
}

/// Registers `GET /assets/{file}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{file}", web::get().to(serve));
}

async fn serve(file: web::Path<String>) -> HttpResponse {
    let path = format!("/assets/{}", file.into_inner());
    match URLS.iter().find(|(url, _)| *url == path) {
        Some((_, asset)) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(asset.bytes),
        None => HttpResponse::NotFound()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_carry_a_content_hash() {
        let css = stylesheet();
        assert!(
            css.starts_with("/assets/skep.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/assets/skep..css".len() + 12);
        assert_ne!(script(), css);
        assert_eq!(url("nope.css"), "/assets/missing");
    }
}
