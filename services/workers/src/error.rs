//! The one error type of the workers; its message becomes the job's `errorMessage`.

/// Why a worker could not produce a report. The `Display` text is what the analyst reads in
/// the job's `errorMessage`, so every message says what went wrong and, where possible, how to
/// fix it.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The job input is not what the job protocol promises (missing field, wrong type).
    #[error("invalid job input: {0}")]
    InvalidInput(String),
    /// A configuration item the worker needs is absent or empty.
    #[error("missing configuration item `{name}`: {hint}")]
    MissingConfig {
        /// The configuration item's name.
        name: &'static str,
        /// What the item is, so the analyst knows what to fill in.
        hint: &'static str,
    },
    /// A configuration item has a value the worker cannot use.
    #[error("invalid configuration item `{name}`: {reason}")]
    InvalidConfig {
        /// The configuration item's name.
        name: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// The job's TLP is above `config.max_tlp` while `config.check_tlp` is set. The text is
    /// the one cortexutils writes, which analysts and tools already recognise.
    #[error("TLP is higher than allowed.")]
    TlpTooHigh,
    /// The job's PAP is above `config.max_pap` while `config.check_pap` is set.
    #[error("PAP is higher than allowed.")]
    PapTooHigh,
    /// `config.worker` names no built-in worker.
    #[error("unknown worker `{0}`: config.worker must be one of {workers}", workers = crate::WORKER_NAMES.join(", "))]
    UnknownWorker(String),
    /// The worker does not handle the job's data type.
    #[error("data type `{data_type}` is not supported by this worker (supported: {supported})")]
    UnsupportedDataType {
        /// The job's data type.
        data_type: String,
        /// The data types the worker handles.
        supported: &'static str,
    },
    /// The observable or file cannot be analysed (not an IP, not a mail, unreadable file…).
    #[error("{0}")]
    InvalidData(String),
    /// A remote service answered with an error, or could not be reached.
    #[error("{0}")]
    Service(String),
    /// Sending mail failed.
    #[error("{0}")]
    Smtp(String),
    /// Reading or writing a job file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl WorkerError {
    /// Wraps an I/O error with what the worker was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Renders an error with its whole source chain on one line (`a: b: c`), because library
/// errors such as reqwest's keep the useful part (connection refused, timeout) in the chain.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
