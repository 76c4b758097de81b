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
        let query = uri.query().unwrap_or_default();
        if let Some(value) = plain::read(query) {
            return Ok(Query(value));
        }
        if let Ok(value) = serde_urlencoded::from_str(query) {
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

/// A query with nothing encoded in it (no `%`, no `+`), as nearly every client sends one, read straight from its
/// text: what `serde_urlencoded` reads, without decoding each key and value (a tenth of a computed quote's work).
/// Anything else, or anything it cannot read, is left to `serde_urlencoded` and then to axum's message.
mod plain {
    use serde::de::value::{BorrowedStrDeserializer, Error};
    use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, MapAccess, Visitor};

    pub fn read<T: DeserializeOwned>(query: &str) -> Option<T> {
        if query.contains(['%', '+']) {
            return None;
        }
        let pairs =
            query.split('&').filter(|pair| !pair.is_empty()).map(|pair| pair.split_once('=').unwrap_or((pair, "")));
        T::deserialize(Pairs { pairs, value: None }).ok()
    }

    struct Pairs<'q, I> {
        pairs: I,
        value: Option<&'q str>,
    }

    impl<'de, I: Iterator<Item = (&'de str, &'de str)>> Deserializer<'de> for Pairs<'de, I> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_map(self)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
        }
    }

    impl<'de, I: Iterator<Item = (&'de str, &'de str)>> MapAccess<'de> for Pairs<'de, I> {
        type Error = Error;

        fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
            let Some((key, value)) = self.pairs.next() else { return Ok(None) };
            self.value = Some(value);
            seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some)
        }

        fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
            seed.deserialize(Value(self.value.take().unwrap_or_default()))
        }
    }

    /// A value as `serde_urlencoded` gives it: text, a number or a bool parsed from it, and always present.
    struct Value<'q>(&'q str);

    macro_rules! parsed {
        ($($deserialize:ident => $visit:ident,)*) => {$(
            fn $deserialize<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                visitor.$visit(self.0.parse().map_err(de::Error::custom)?)
            }
        )*};
    }

    impl<'de> Deserializer<'de> for Value<'de> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_borrowed_str(self.0)
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_some(self)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Error> {
            visitor.visit_enum(self.0.into_deserializer())
        }

        parsed! {
            deserialize_bool => visit_bool,
            deserialize_u8 => visit_u8, deserialize_u16 => visit_u16, deserialize_u32 => visit_u32,
            deserialize_u64 => visit_u64, deserialize_i8 => visit_i8, deserialize_i16 => visit_i16,
            deserialize_i32 => visit_i32, deserialize_i64 => visit_i64, deserialize_f32 => visit_f32,
            deserialize_f64 => visit_f64,
        }

        serde::forward_to_deserialize_any! {
            i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
            ignored_any
        }
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::schema::swap::SwapRequest;

    /// What `serde_urlencoded` reads from `query`, as text to compare.
    fn decoded(query: &str) -> Option<String> {
        serde_urlencoded::from_str::<SwapRequest>(query).ok().map(|request| format!("{request:?}"))
    }

    #[test]
    fn a_plain_query_reads_as_serde_urlencoded_reads_it_and_an_encoded_one_is_left_to_it() {
        let quote = "chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=1.5&side=SELL\
                     &slippagePct=0.5&approximateIfNoExactOut=true&poolAddress=";
        let read = super::plain::read::<SwapRequest>(quote).expect("a plain query");
        assert_eq!(Some(format!("{read:?}")), decoded(quote));
        assert_eq!(read.slippage_pct, Some(0.5));
        assert_eq!(read.pool_address.as_deref(), Some(""));
        for encoded in ["baseToken=W%45TH&amount=1&side=SELL", "baseToken=WETH&amount=1&side=SELL+"] {
            assert!(super::plain::read::<SwapRequest>(encoded).is_none(), "{encoded}");
        }
        // Refused (a field twice, one unknown, a number that is not one), and left to the reader that says why.
        for refused in [
            "baseToken=A&baseToken=B&amount=1&side=SELL",
            "baseToken=A&amount=1&side=SELL&x=1",
            "baseToken=A&amount=1&side=SELL&slippagePct=lots",
        ] {
            assert!(super::plain::read::<SwapRequest>(refused).is_none(), "{refused}");
        }
    }

    proptest! {
        /// A plain query reads as serde_urlencoded reads it, and is refused where it is refused.
        #[test]
        fn every_plain_query_reads_as_serde_urlencoded_reads_it(
            pairs in proptest::collection::vec(
                (
                    prop::sample::select(vec!["baseToken", "quoteToken", "amount", "side", "slippagePct", "network",
                        "approximateIfNoExactOut", "indicativePrice", "walletAddress", "other", ""]),
                    prop::option::of("[a-zA-Z0-9.=\\-]{0,6}|true|false|1e3|-0|NaN|inf"),
                ),
                0..9,
            )
        ) {
            let query: Vec<String> = pairs
                .iter()
                .map(|(key, value)| match value {
                    Some(value) => format!("{key}={value}"),
                    None => key.to_string(),
                })
                .collect();
            let query = query.join("&");
            let read = super::plain::read::<SwapRequest>(&query).map(|read| format!("{read:?}"));
            prop_assert_eq!(read, decoded(&query), "{}", query);
        }
    }
}
