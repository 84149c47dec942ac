//! Flash messages: one line shown on the page after a redirect ("User created"), carried by a
//! short-lived cookie and cleared by the page that shows it.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};

/// Name of the cookie carrying a pending message.
pub const COOKIE: &str = "skep-flash";

/// The kind of a message, shown as its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    /// Something was done.
    Success,
    /// Something to know.
    Info,
    /// Something failed; the message says what to do.
    Error,
}

impl FlashKind {
    /// The CSS class suffix (`flash-success`, …) and cookie spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Error => "error",
        }
    }

    fn parse(text: &str) -> Option<FlashKind> {
        [FlashKind::Success, FlashKind::Info, FlashKind::Error]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A message for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// Its kind.
    pub kind: FlashKind,
    /// Its text (escaped when shown).
    pub text: String,
}

impl Flash {
    /// A success message.
    pub fn success(text: impl Into<String>) -> Flash {
        Flash {
            kind: FlashKind::Success,
            text: text.into(),
        }
    }

    /// An informative message.
    pub fn info(text: impl Into<String>) -> Flash {
        Flash {
            kind: FlashKind::Info,
            text: text.into(),
        }
    }

    /// An error message.
    pub fn error(text: impl Into<String>) -> Flash {
        Flash {
            kind: FlashKind::Error,
            text: text.into(),
        }
    }

    /// The cookie carrying this message to the next page.
    pub fn cookie(&self) -> Cookie<'static> {
        let value = format!("{}:{}", self.kind.as_str(), urlencoding::encode(&self.text));
        Cookie::build(COOKIE, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .finish()
    }
}

/// The pending message of a request, if any.
pub fn read(request: &HttpRequest) -> Option<Flash> {
    let cookie = request.cookie(COOKIE)?;
    let (kind, text) = cookie.value().split_once(':')?;
    Some(Flash {
        kind: FlashKind::parse(kind)?,
        text: urlencoding::decode(text).ok()?.chars().take(500).collect(),
    })
}

/// The cookie that clears a shown message.
pub fn removal() -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, "").path("/").finish();
    cookie.make_removal();
    cookie
}
