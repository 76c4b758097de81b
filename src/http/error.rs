//! The one error type of the HTTP layer and its one JSON shape:
//! `{"statusCode", "error", "message", "code"?, "name"?}`, which Hummingbot's client parses; and the one place a
//! typed error (the use cases', the chain's, a connector's, the config's, storage's) becomes a status and a code.
//! Internal faults are logged with their cause and answered with a generic message; nothing internal is echoed.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use chains::tx::revert::RevertKind;
use connectors::clob::OrderError;
use connectors::core::error::{ConnectorError, Field};

use crate::config::ConfigError;
use crate::error::{AppError, INTERNAL_MESSAGE, InvalidKind};

/// The machine code of an error answer: Gateway v2.17's eight first (Hummingbot's client branches on them), then
/// this gateway's finer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// A request-shape problem: a field bad, missing, out of range, or unknown; the message names it. The client does not retry.
    InvalidParams,
    /// No pool or route of the connector trades the pair. The client does not retry.
    NoRouteFound,
    /// The wallet holds less than the request spends (checked before simulating), or a revert that means it. The client does not retry.
    InsufficientBalance,
    /// A swap or liquidity change reverted on its slippage bound, in simulation or mined; the message says what was asked and what the market gives. The client's executors widen slippage and try again.
    SlippageExceeded,
    /// The transaction would revert for another reason; nothing was sent. The client does not retry.
    SimulationFailed,
    /// The transaction was sent, mined and reverted; its fee was paid. The client does not retry.
    TransactionFailed,
    /// The transaction was sent and is not mined within transactionExecutionTimeoutMs; the message names its hash (`Transaction 0x… was not confirmed within …`), the gateway keeps tracking it and poll tells its fate. The client polls it before sending again.
    TransactionTimeout,
    /// The network's nodes refuse for too many requests, still after the reads were retried with backoff; nothing was sent. The client retries after a delay.
    RateLimited,
    /// A spender may not move what the transaction needs; the message says what to approve.
    InsufficientAllowance,
    /// A stored router quote lived past its time; quote again.
    QuoteExpired,
    /// A stored router quote was executed already (it executes once); the message names its transaction.
    QuoteAlreadyExecuted,
    /// No token by that symbol or address on the network.
    TokenNotFound,
    /// A cancel was mined in place of what was asked: nothing happened.
    Cancelled,
    /// The pool cannot fill the amount.
    InsufficientLiquidity,
    /// An address given as a token does not answer as an ERC-20.
    NotAToken,
    /// The node refused the signed transaction (fees, nonce); it was not sent.
    TransactionRejected,
    /// A fee the send would need is over one of the network's caps; nothing was signed.
    FeeCap,
    /// A speed-up or cancel found nothing pending to replace.
    NothingToReplace,
    /// The request went away before its turn; nothing was signed.
    Withdrawn,
    /// The wallet is not one the gateway signs for; add it.
    WalletNotFound,
    /// A private key or keystore that cannot be used.
    InvalidKey,
    /// A config setting refused; the message names it.
    InvalidConfig,
    /// Nothing by that name, id or path.
    NotFound,
    /// Something by that name or address exists already.
    Duplicate,
    /// No node of the network answered; check its nodeURL.
    RpcUnreachable,
    /// A node answered a read with an error.
    NodeError,
    /// No answer within server.requestTimeoutSeconds; nothing was signed for the request.
    Timeout,
    /// The Idempotency-Key was used for another request.
    IdempotencyKeyReused,
    /// The first request with this Idempotency-Key has not finished.
    IdempotencyKeyInUse,
    /// A Host name this gateway does not answer (server.yml allowedHosts).
    HostNotAllowed,
    /// A web page origin this gateway does not answer (server.yml corsOrigins).
    OriginNotAllowed,
    /// The gateway requires a bearer key (GATEWAY_REQUIRE_AUTH) and the request had none, or another.
    Unauthorized,
    /// Refused to this peer: too many failed authentications within the window, or the API's pages asked from
    /// another machine.
    Forbidden,
    /// A fault of the gateway's own; its log has the details.
    Internal,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    code: Option<ErrorCode>,
    /// Logged, never sent.
    cause: Option<String>,
}

/// The error body every route answers with when it does not answer 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"statusCode": 400, "error": "Bad Request", "message": "amount: must be positive", "code": "INVALID_PARAMS", "name": "ValidationError"}))]
pub struct ErrorBody {
    pub status_code: u16,
    /// The HTTP status's name.
    pub error: String,
    /// What was wrong and what to do about it.
    pub message: String,
    /// A machine-readable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// The kind of error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), code: None, cause: None }
    }

    /// Bad input: the message names the field and says what it must be.
    pub fn bad_request(field: &str, reason: impl std::fmt::Display) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, format!("{field}: {reason}")).with_code(ErrorCode::InvalidParams)
    }

    /// Something by that name or address already exists.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, message).with_code(ErrorCode::Duplicate)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message).with_code(ErrorCode::NotFound)
    }

    /// A fault of ours or of a dependency: the cause goes to the log, the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: INTERNAL_MESSAGE.into(),
            code: Some(ErrorCode::Internal),
            cause: Some(cause.to_string()),
        }
    }

    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = Some(code);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    fn name(&self) -> &'static str {
        match self.status.as_u16() {
            400 | 422 => "ValidationError",
            401 => "UnauthorizedError",
            403 => "ForbiddenError",
            404 => "NotFoundError",
            409 => "ConflictError",
            413 => "PayloadTooLargeError",
            429 => "RateLimitError",
            503 => "UnavailableError",
            504 => "TimeoutError",
            _ => "InternalError",
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(status = self.status.as_u16(), %cause, "request failed");
        } else {
            tracing::info!(status = self.status.as_u16(), reason = %self.message, "request refused");
        }
        let body = ErrorBody {
            status_code: self.status.as_u16(),
            error: self.status.canonical_reason().unwrap_or("Error").to_string(),
            message: self.message.clone(),
            code: self.code,
            name: Some(self.name().to_string()),
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        match error {
            AppError::Invalid { field, reason, kind } => {
                let refused = ApiError::bad_request(&field, reason);
                match kind {
                    InvalidKind::Field => refused,
                    InvalidKind::Allowance => refused.with_code(ErrorCode::InsufficientAllowance),
                    InvalidKind::QuoteExpired => refused.with_code(ErrorCode::QuoteExpired),
                    InvalidKind::UnknownToken => refused.with_code(ErrorCode::TokenNotFound),
                    InvalidKind::Cancelled => refused.with_code(ErrorCode::Cancelled),
                    InvalidKind::NoRoute => refused.with_code(ErrorCode::NoRouteFound),
                    InvalidKind::Balance => refused.with_code(ErrorCode::InsufficientBalance),
                    InvalidKind::QuoteUsed => {
                        ApiError::new(StatusCode::CONFLICT, message).with_code(ErrorCode::QuoteAlreadyExecuted)
                    }
                }
            }
            AppError::Slippage(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, message).with_code(ErrorCode::SlippageExceeded)
            }
            AppError::Failed { kind, .. } => ApiError::new(StatusCode::BAD_REQUEST, message)
                .with_code(revert_code(kind, ErrorCode::TransactionFailed)),
            AppError::Dropped { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, message).with_code(ErrorCode::TransactionFailed)
            }
            AppError::TimedOut { .. } => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, message).with_code(ErrorCode::TransactionTimeout)
            }
            AppError::Forbidden { .. } => ApiError::new(StatusCode::FORBIDDEN, message).with_code(ErrorCode::Forbidden),
            AppError::NotFound(message) => ApiError::not_found(message),
            AppError::Internal(cause) => ApiError::internal(cause),
            AppError::Chain(error) => error.into(),
            AppError::Connector(error) => error.into(),
            AppError::Order(error) => error.into(),
            AppError::Config(error) => error.into(),
            AppError::Storage(error) => error.into(),
        }
    }
}

impl From<ConfigError> for ApiError {
    fn from(error: ConfigError) -> Self {
        match &error {
            ConfigError::Invalid { .. } | ConfigError::UnknownPath { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, error.to_string()).with_code(ErrorCode::InvalidConfig)
            }
            ConfigError::UnknownNamespace { .. } => ApiError::not_found(error.to_string()),
            ConfigError::Read { .. }
            | ConfigError::Write { .. }
            | ConfigError::Syntax { .. }
            | ConfigError::MissingFile(_) => ApiError::internal(error),
        }
    }
}

impl From<chains::error::ChainError> for ApiError {
    fn from(error: chains::error::ChainError) -> Self {
        use chains::error::ChainError;
        let message = error.to_string();
        match &error {
            ChainError::Unreachable { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).with_code(ErrorCode::RpcUnreachable)
            }
            ChainError::Node(_) => ApiError::new(StatusCode::BAD_GATEWAY, message).with_code(ErrorCode::NodeError),
            ChainError::NotAToken { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, message).with_code(ErrorCode::NotAToken)
            }
            ChainError::RateLimited { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).with_code(ErrorCode::RateLimited)
            }
            ChainError::Reverted { .. } => {
                let kind = error.revert_kind().unwrap_or(RevertKind::Other);
                ApiError::new(StatusCode::BAD_REQUEST, message)
                    .with_code(revert_code(kind, ErrorCode::SimulationFailed))
            }
            ChainError::Rejected(_) => {
                let kind = error.revert_kind().unwrap_or(RevertKind::Other);
                ApiError::new(StatusCode::BAD_REQUEST, message)
                    .with_code(revert_code(kind, ErrorCode::TransactionRejected))
            }
            ChainError::FeeCap(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "{message}. Raise the cap in chains/ethereum/<network>.yml (POST /config/update) or wait for fees \
                     to fall"
                ),
            )
            .with_code(ErrorCode::FeeCap),
            ChainError::Withdrawn => ApiError::new(StatusCode::CONFLICT, message).with_code(ErrorCode::Withdrawn),
            ChainError::NothingToReplace(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, message).with_code(ErrorCode::NothingToReplace)
            }
            ChainError::UnknownWallet(_) => {
                ApiError::new(StatusCode::NOT_FOUND, format!("{message}; add it with POST /wallet/add"))
                    .with_code(ErrorCode::WalletNotFound)
            }
            ChainError::Keystore(_) => ApiError::new(StatusCode::BAD_REQUEST, message).with_code(ErrorCode::InvalidKey),
            ChainError::Ledger(_) | ChainError::Interrupted(_) => ApiError::internal(message),
        }
    }
}

impl From<ConnectorError> for ApiError {
    fn from(error: ConnectorError) -> Self {
        match error {
            ConnectorError::Chain(chain) => chain.into(),
            ConnectorError::Invalid { field, reason } => ApiError::bad_request(api_field(field), reason),
            ConnectorError::Liquidity(message) => {
                ApiError::new(StatusCode::BAD_REQUEST, message).with_code(ErrorCode::InsufficientLiquidity)
            }
            ConnectorError::NotAPool(address) => ApiError::bad_request(
                "poolAddress",
                format!("{address} is not a pool of this connector on this network"),
            ),
            ConnectorError::Math(message) => ApiError::bad_request("amount", message),
            error @ (ConnectorError::NotDeployed { .. } | ConnectorError::Unsupported { .. }) => {
                ApiError::bad_request("connector", error.to_string())
            }
            error @ ConnectorError::NotTheVenue(_) => ApiError::bad_request("network", error.to_string()),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Unfit { field, reason } => ApiError::bad_request(api_field(field), reason),
            OrderError::Unreadable(_) => ApiError::internal(error),
        }
    }
}

/// The code of a revert (found before sending, or mined) by what it means; `otherwise` for any other cause.
fn revert_code(kind: RevertKind, otherwise: ErrorCode) -> ErrorCode {
    match kind {
        RevertKind::Slippage => ErrorCode::SlippageExceeded,
        RevertKind::Balance => ErrorCode::InsufficientBalance,
        RevertKind::Other => otherwise,
    }
}

/// The API's name of the input a connector refused.
fn api_field(field: Field) -> &'static str {
    match field {
        Field::Amount => "amount",
        Field::Connector => "connector",
        Field::Side => "side",
        Field::Price => "price",
        Field::UpperPrice => "upperPrice",
        Field::Tick => "tick",
        Field::Pool => "poolAddress",
        Field::TokenIn => "tokenIn",
        Field::Token => "token",
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(error: crate::storage::StorageError) -> Self {
        match error {
            crate::storage::StorageError::Duplicate(what) => ApiError::conflict(format!("{what} already exists")),
            other => ApiError::internal(other),
        }
    }
}
