//! The crate's one error type. The API maps it to HTTP in exactly one place
//! (`api/src/error.rs`); codes here are stable and part of the API contract.

use std::collections::BTreeMap;

/// Field → stable error codes (`required`, `invalid_email`, `too_short` …).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FieldErrors(pub BTreeMap<String, Vec<&'static str>>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, code: &'static str) {
        self.0.entry(field.to_owned()).or_default().push(code);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when empty, the validation error otherwise.
    pub fn into_result(self) -> Result<(), WorkflowError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(WorkflowError::Validation(self))
        }
    }
    pub fn single(field: &str, code: &'static str) -> WorkflowError {
        let mut e = FieldErrors::default();
        e.add(field, code);
        WorkflowError::Validation(e)
    }
}

/// Why a caller is not authenticated. Each is a distinct, stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Unknown email or wrong password (deliberately indistinguishable).
    InvalidCredentials,
    /// Right password, disabled account.
    AccountDisabled,
    /// Right credentials, but the directory or identity provider puts the account in
    /// no group (claim value) Tentabo maps to a role.
    NotMapped,
    /// No bearer token where one is required.
    MissingToken,
    /// Malformed token, bad signature, wrong algorithm, issuer or audience.
    InvalidToken,
    TokenExpired,
    /// The session behind the token was revoked (logout, reuse, user disabled).
    SessionRevoked,
    /// A refresh token that was already rotated was presented again.
    RefreshTokenReused,
}

impl AuthFailure {
    pub fn code(self) -> &'static str {
        match self {
            AuthFailure::InvalidCredentials => "invalid_credentials",
            AuthFailure::AccountDisabled => "account_disabled",
            AuthFailure::NotMapped => "account_not_mapped",
            AuthFailure::MissingToken => "missing_token",
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::TokenExpired => "token_expired",
            AuthFailure::SessionRevoked => "session_revoked",
            AuthFailure::RefreshTokenReused => "refresh_token_reused",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("not authenticated: {}", .0.code())]
    Unauthenticated(AuthFailure),
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    #[error("conflict: {code}")]
    Conflict { code: &'static str, message: String },
    /// The request conflicts with the resource's current state; `details` tells the
    /// caller what the state is and what it may do (409).
    #[error("refused: {code}")]
    Refused {
        code: &'static str,
        details: serde_json::Value,
    },
    /// Well-formed but unacceptable (422) with a code of its own (an idempotency key
    /// reused for a different request).
    #[error("unprocessable: {code}")]
    Unprocessable {
        code: &'static str,
        details: serde_json::Value,
    },
    /// A source or provider failed in a way that may pass (timeouts, 5xx, 429 after the
    /// retries): the job that met it retries later.
    #[error("upstream unavailable: {0}")]
    Upstream(String),
    /// A system the request itself depends on does not answer (the directory an LDAP
    /// user logs in against): 503 with its own code, nothing changed.
    #[error("{code}: {message}")]
    Unavailable { code: &'static str, message: String },
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("unknown job queue `{0}`")]
    UnknownQueue(String),
    /// The message carries diesel's (not as a `source`, so a printed chain says it once).
    #[error("database: {0}")]
    Database(diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("authorization policy: {0}")]
    Policy(String),
    #[error("internal: {0}")]
    Internal(String),
    /// An internal failure caused by another error, kept whole so the log shows the
    /// chain (`std::error::Error::source`), never the caller.
    #[error("internal: {context}")]
    InternalCause {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl WorkflowError {
    /// An internal failure that keeps its cause for the logs.
    pub fn internal(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> WorkflowError {
        WorkflowError::InternalCause {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// The error and its causes, outermost first (`a: b: c`), for a log line.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }

    /// The database is unreachable, restarting, or cut the connection mid-statement:
    /// nothing is wrong with the request, and trying again later will do (the API
    /// answers 503; a job retries).
    pub fn is_unavailable(&self) -> bool {
        match self {
            WorkflowError::Pool(_) => true,
            WorkflowError::Database(e) => database_unavailable(e),
            _ => false,
        }
    }
}

fn database_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as K, Error as E};
    const CUT: &[&str] = &[
        "terminating connection",
        "connection closed",
        "server closed the connection",
        "the database system is",
        "connection reset",
        "broken pipe",
        "could not connect",
        "connection refused",
        "unexpected eof",
        "error communicating with",
    ];
    match e {
        E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => true,
        E::DatabaseError(_, info) => {
            let m = info.message().to_ascii_lowercase();
            CUT.iter().any(|p| m.contains(p))
        }
        // A transaction whose rollback failed: its connection is gone.
        E::BrokenTransactionManager => true,
        E::RollbackErrorOnCommit { commit_error, .. } => database_unavailable(commit_error),
        _ => false,
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for WorkflowError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        WorkflowError::Pool(e.to_string())
    }
}

/// A missing row is `NotFound`; other database errors pass through.
pub fn not_found(e: diesel::result::Error) -> WorkflowError {
    match e {
        diesel::result::Error::NotFound => WorkflowError::NotFound,
        e => e.into(),
    }
}

/// Maps a unique-constraint violation on one of `constraints` to a conflict with the
/// given code; other errors pass through.
pub fn map_unique(
    e: diesel::result::Error,
    constraints: &[(&str, &'static str, &str)],
) -> WorkflowError {
    if let diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::UniqueViolation,
        info,
    ) = &e
    {
        for (constraint, code, message) in constraints {
            if info.constraint_name() == Some(constraint) {
                return WorkflowError::Conflict {
                    code,
                    message: (*message).to_owned(),
                };
            }
        }
    }
    WorkflowError::Database(e)
}

impl From<diesel::result::Error> for WorkflowError {
    fn from(e: diesel::result::Error) -> Self {
        WorkflowError::Database(e)
    }
}
