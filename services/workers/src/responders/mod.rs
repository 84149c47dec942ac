//! The built-in responders, one module each.

pub mod mailer;
