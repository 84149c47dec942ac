//! actix-web plumbing shared by the Skep services: the one error type and its mapping to the
//! TheHive/Cortex error body ([`ApiError`]), the lenient request-body parser both compatible APIs
//! need ([`Fields`]), search/stats request parsing ([`search`]), list responses with `X-Total`
//! ([`response`]), request inspection helpers ([`request`]) and app defaults ([`app`]).
//!
//! It holds no business rules and knows no roles: each service defines its own caller
//! extractor on top of [`request`]. Start reading at [`ApiError`] and [`Fields`].
#![warn(missing_docs)]

pub mod app;
mod error;
mod fields;
pub mod request;
pub mod response;
pub mod search;
pub mod shutdown;

pub use error::{ApiError, AttributeError, AttributeErrorType};
pub use fields::{BodyLimit, Fields, UploadedFile, read_raw};
