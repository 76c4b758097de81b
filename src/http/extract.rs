//! Axum's JSON and query extractors, with their rejections turned into our 400 body naming the field.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use serde::de::DeserializeOwned;

use crate::http::error::{ApiError, ErrorCode};

/// A JSON request body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A query string.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> Query<T> {
    pub fn from_uri(uri: &Uri) -> Result<Self, ApiError> {
        if let Ok(value) = serde_urlencoded::from_str(uri.query().unwrap_or_default()) {
            return Ok(Query(value));
        }
        // Axum's extractor is slower but names the field that failed.
        match axum::extract::Query::<T>::try_from_uri(uri) {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_uri(&parts.uri)
    }
}

/// The `{chain}` of a `/chains/{chain}/…` path: a chain this gateway serves, else 400 naming them.
pub struct ServedChain;

impl<S: Send + Sync> FromRequestParts<S> for ServedChain {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let chain = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request("chain", chains::scrubbed(&rejection.body_text())))?;
        crate::request::check_chain(Some(&chain.0))?;
        Ok(ServedChain)
    }
}

/// The JSON parser's error, its path into the body shortened: a path 127 levels deep would take all of the message.
fn parser_says(source: &(dyn std::error::Error + 'static)) -> String {
    const PATH_SHOWN: usize = 48;
    let parsed = std::iter::successors(Some(source), |error| error.source())
        .find_map(|error| error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>());
    let Some(error) = parsed else { return source.to_string() };
    let path = error.path().to_string();
    let mut shown: String = path.chars().take(PATH_SHOWN).collect();
    if path.chars().nth(PATH_SHOWN).is_some() {
        shown.push('…');
    }
    match path.as_str() {
        "." => error.inner().to_string(),
        _ => format!("{shown}: {}", error.inner()),
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let detail = match &rejection {
        JsonRejection::JsonDataError(e) => std::error::Error::source(e).map(parser_says),
        JsonRejection::JsonSyntaxError(e) => {
            std::error::Error::source(e).map(|s| format!("malformed JSON: {}", parser_says(s)))
        }
        JsonRejection::MissingJsonContentType(_) => {
            Some("send the body as JSON with the header 'Content-Type: application/json'".into())
        }
        _ => None,
    };
    let status = match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    // The parser's message repeats what was sent: a key posted in the wrong shape must not come back.
    let detail = chains::scrubbed(&detail.unwrap_or_else(|| rejection.body_text()));
    ApiError::new(status, format!("request body: {detail}")).with_code(ErrorCode::InvalidParams)
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    let detail = match &rejection {
        QueryRejection::FailedToDeserializeQueryString(e) => std::error::Error::source(e).map(|s| s.to_string()),
        _ => None,
    };
    let detail = chains::scrubbed(&detail.unwrap_or_else(|| rejection.body_text()));
    ApiError::new(StatusCode::BAD_REQUEST, format!("query: {detail}")).with_code(ErrorCode::InvalidParams)
}
