//! The built-in analyzers, one module each.

pub mod abuseipdb;
pub mod email;
pub mod file_info;
pub mod observable_sanity;
pub mod virustotal;
