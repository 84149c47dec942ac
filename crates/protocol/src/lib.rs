//! Wire types shared by the Skep services and their clients: the error body both compatible
//! APIs answer with, and the JSON of the Cortex job protocol. No I/O lives here.
#![warn(missing_docs)]

pub mod error_body;

pub use error_body::ErrorBody;
