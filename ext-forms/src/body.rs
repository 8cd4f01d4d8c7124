//! Reading a form body whole, for the CSRF layer's token search and for [`Form`](crate::Form).

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http_body_util::BodyExt as _;
use phial_core::HttpError;
use phial_core::axum::body::Body;

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Longer than the limit.
    TooLarge,
    /// The body failed while it was read (the client went away, a broken chunked encoding).
    Failed(phial_core::axum::Error),
}

impl ReadError {
    /// The error as the client sees it: 413 or 400, with `too_large` as the message of a 413.
    pub(crate) fn into_http(self, too_large: &'static str) -> HttpError {
        match self {
            Self::TooLarge => HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, too_large),
            Self::Failed(err) => HttpError::bad_request(format!("The request body could not be read: {err}")),
        }
    }
}

/// Reads `body` whole, up to `limit` bytes; a body wrapped in axum's limit (`with_limited_body`)
/// that passes it is [`ReadError::TooLarge`] too.
///
/// A body that comes in one piece (a form usually does) is handed back as it came, not copied:
/// `axum::body::to_bytes` first lists the pieces in a buffer of its own, an allocation on every
/// form request, two with CSRF protection (which reads the body, then hands it on in one piece).
pub(crate) async fn read_whole(mut body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut length = 0_usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(classify)?.into_data() else { continue };
        length = length.saturating_add(data.len());
        if length > limit {
            return Err(ReadError::TooLarge);
        }
        if data.is_empty() {
            continue;
        }
        match (&mut joined, first.take()) {
            (Some(buffer), _) => buffer.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(earlier)) => {
                let mut buffer = BytesMut::with_capacity(earlier.len() + data.len());
                buffer.extend_from_slice(&earlier);
                buffer.extend_from_slice(&data);
                joined = Some(buffer);
            }
        }
    }
    Ok(joined.map_or_else(|| first.unwrap_or_default(), BytesMut::freeze))
}

/// axum's limit fails the body with `LengthLimitError`, possibly inside an `axum::Error` of the
/// wrapped body's.
fn classify(err: phial_core::axum::Error) -> ReadError {
    let inner = err.into_inner();
    let inner = match inner.downcast::<phial_core::axum::Error>() {
        Ok(wrapped) => wrapped.into_inner(),
        Err(other) => other,
    };
    if inner.is::<http_body_util::LengthLimitError>() {
        ReadError::TooLarge
    } else {
        ReadError::Failed(phial_core::axum::Error::new(inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(pieces: &[&'static [u8]]) -> Body {
        let pieces: Vec<Result<Bytes, std::io::Error>> =
            pieces.iter().map(|piece| Ok(Bytes::from_static(piece))).collect();
        Body::from_stream(futures_util::stream::iter(pieces))
    }

    #[tokio::test]
    async fn a_body_in_one_piece_is_handed_back_uncopied() {
        let piece = Bytes::from_static(b"csrf_token=abc&name=Ada");
        let read = read_whole(Body::from(piece.clone()), 1024).await.expect("within the limit");
        assert_eq!(read, piece);
        assert_eq!(read.as_ptr(), piece.as_ptr(), "the same bytes, not a copy");
    }

    #[tokio::test]
    async fn pieces_are_joined_in_order() {
        let read = read_whole(streamed(&[b"a=1", b"", b"&b=", b"2"]), 1024).await.expect("within the limit");
        assert_eq!(read, "a=1&b=2");
        assert_eq!(read_whole(streamed(&[]), 1024).await.expect("empty").len(), 0);
    }

    #[tokio::test]
    async fn past_the_limit_is_too_large_with_or_without_axums_limit() {
        assert!(matches!(read_whole(streamed(&[b"12345", b"6"]), 5).await, Err(ReadError::TooLarge)));
        assert!(read_whole(streamed(&[b"12345"]), 5).await.is_ok());
        let limited = Body::new(http_body_util::Limited::new(streamed(&[b"1234", b"56"]), 5));
        assert!(matches!(read_whole(limited, usize::MAX).await, Err(ReadError::TooLarge)));
    }

    #[tokio::test]
    async fn a_failing_body_is_a_400_with_the_reason() {
        let failing = futures_util::stream::iter([
            Ok(Bytes::from_static(b"a=1")),
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the client went away")),
        ]);
        let err = read_whole(Body::from_stream(failing), 1024).await.expect_err("the body failed");
        let err = err.into_http("too large");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.message().contains("the client went away"), "{}", err.message());
    }
}
