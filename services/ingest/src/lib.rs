//! The Skep ingest service: reads IMAP mailboxes and turns each mail into a case or an alert
//! in the cases service (TheHive 3 REST API, API key), with its observables and attachments,
//! every mail exactly once.
//!
//! Reading order: [`config`] (and [`ini`] for imap2thehive files), [`message`] (raw mail to
//! [`message::Mail`]), [`extract`] and [`html`] (pure text functions), [`plan`] (a mail to the
//! JSON the cases service gets), [`cases`] (the REST client), [`imap`] (the mailbox),
//! [`pipeline`] (one pass: fetch, look up, create, flag), [`metrics`].

pub mod config;
pub mod extract;
pub mod html;
pub mod ini;
pub mod message;
