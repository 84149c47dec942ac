//! Runs the real `skep-worker` binary on job directories, against stand-ins of the online
//! services, a real SMTP server (aiosmtpd), and generated mail and file samples.

// Tests may unwrap (clippy.toml); the helpers outside `#[test]` functions follow the same rule.
#![allow(clippy::unwrap_used)]

mod abuseipdb;
mod definitions;
mod email;
mod file_info;
mod helpers;
mod mailer;
mod observable_sanity;
mod protocol;
mod virustotal;
