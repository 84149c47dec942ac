//! The one look of Skep's web UIs, shared by the engine (port 9001) and the cases service
//! (port 9000): the page shell, one stylesheet and one small script embedded in the binary,
//! the security headers (a strict Content-Security-Policy), CSRF tokens for forms, flash
//! messages, Markdown rendering with sanitizing, the collapsible JSON view, taxonomy labels and
//! pagination.
//!
//! # Plugging a service in
//!
//! 1. Register the assets next to the service's routes: `cfg.configure(skep_web::assets::configure)`
//!    (serves `/assets/<name>.<hash>.<ext>` with a one-year immutable cache).
//! 2. Render a page body with the service's own askama templates (a fragment, no `<html>`), then
//!    wrap it: `skep_web::response::page(&request, &layout, &body)` returns the full document with
//!    the security headers, and shows (then clears) a pending flash message. [`Layout`] carries the
//!    title, the navigation links and the signed-in user's menu.
//! 3. Every form gets `<input type="hidden" name="_csrf" value="{{ csrf }}">` where the token is
//!    [`csrf::Csrf::token`] of a per-browser binding cookie; a POST handler calls
//!    [`csrf::Csrf::verify`] before doing anything (see the module for the binding cookie).
//! 4. After a successful POST, answer [`response::redirect_with_flash`] (303, POST-redirect-GET).
//! 5. Attacker-controlled text goes through askama's escaping (the default `{{ value }}`), never
//!    `|safe`; only values of type [`Html`] (made by this crate's renderers: [`markdown`],
//!    [`json`], [`taxonomy`], [`pagination`]) are written with `|safe`.
//!
//! Scripts attach behaviour through `data-*` attributes only (the policy has no inline script):
//! `data-json-search` (filters a JSON view), `data-filter` (filters `[data-filter-text]` items of
//! the element it names), `data-live` (re-fetches the element every few seconds while
//! `data-live` is `on`), `data-copy` (copies the text of the element it names).
#![warn(missing_docs)]

pub mod assets;
pub mod csrf;
pub mod flash;
pub mod json;
pub mod layout;
pub mod markdown;
pub mod pagination;
pub mod response;
pub mod taxonomy;

mod html;

pub use html::{Html, escape};
pub use layout::{Layout, NavLink, UserMenu};
