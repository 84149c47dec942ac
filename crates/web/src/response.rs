//! Responses of UI pages: the security headers every page carries, the full page, and the 303
//! redirect that ends every successful form POST.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};

use crate::flash::{self, Flash};
use crate::layout::Layout;

/// The Content-Security-Policy of every page: scripts and styles only from the service's own
/// embedded assets, no inline script or style, no plugins, no framing, forms post only here.
/// `frame-src 'self'` lets a page show untrusted HTML in a sandboxed `srcdoc` frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the page security headers to a response being built.
pub fn secure(builder: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
}

/// A full page: `layout` around `body`, status 200, with the security headers. A pending flash
/// message of the request is shown and cleared.
pub fn page(request: &HttpRequest, layout: &Layout, body: &str) -> HttpResponse {
    page_with_status(request, StatusCode::OK, layout, body)
}

/// Like [`page`] with another status (e.g. 400 for a form shown again with its errors).
pub fn page_with_status(
    request: &HttpRequest,
    status: StatusCode,
    layout: &Layout,
    body: &str,
) -> HttpResponse {
    let flash = flash::read(request);
    let document = layout.render(flash.as_ref(), body);
    let mut builder = HttpResponse::build(status);
    secure(&mut builder).content_type("text/html; charset=utf-8");
    if flash.is_some() {
        builder.cookie(flash::removal());
    }
    builder.body(document)
}

/// A bare fragment (no shell) with the security headers, for scripts that refresh part of a
/// page.
pub fn fragment(body: String) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    secure(&mut builder)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// `303 See Other` to `location`.
pub fn redirect(location: &str) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    secure(&mut builder)
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `303 See Other` to `location`, showing `flash` there.
pub fn redirect_with_flash(location: &str, flash: &Flash) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    secure(&mut builder)
        .insert_header((header::LOCATION, location))
        .cookie(flash.cookie())
        .finish()
}
