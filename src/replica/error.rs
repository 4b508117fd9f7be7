use thiserror::Error;

/// Everything the replica core can refuse. Each variant maps to a stable `code` string
/// that the JS facade puts on the `Error` it throws.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ReplicaError {
    /// An app value that is not JSON, or a record that is not an object. Becomes a `TypeError`.
    #[error("{0}")]
    InvalidValue(String),
    #[error("no record with id '{id}' in collection '{collection}'")]
    NotFound { collection: String, id: String },
    #[error("a record with id '{id}' already exists in collection '{collection}'")]
    AlreadyExists { collection: String, id: String },
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("invalid Yjs update: {0}")]
    InvalidUpdate(String),
    /// An option the app passed that cannot be used (such as an index on `id`).
    #[error("{0}")]
    InvalidOption(String),
}

impl ReplicaError {
    /// The machine-readable code the JS `Error` carries as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ReplicaError::InvalidValue(_) => "INVALID_VALUE",
            ReplicaError::NotFound { .. } => "NOT_FOUND",
            ReplicaError::AlreadyExists { .. } => "ALREADY_EXISTS",
            ReplicaError::InvalidQuery(_) => "INVALID_QUERY",
            ReplicaError::InvalidUpdate(_) => "INVALID_UPDATE",
            ReplicaError::InvalidOption(_) => "INVALID_OPTION",
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, ReplicaError>;
