//! `application/x-www-form-urlencoded` bodies, read the way the `form_urlencoded` crate reads
//! them (the WHATWG URL standard's parser), but without its per-byte work and allocations: the
//! body is checked as UTF-8 once, and names and values are decoded straight into the form's one
//! text buffer (a piece with no `+` and no `%` is copied whole).
//!
//! Every form request reads its body through here, and a CSRF-protected one reads the token's
//! field too; the differential tests below hold it to `form_urlencoded::parse`.

use std::borrow::Cow;

/// Decodes the names and values of one body onto the end of a text buffer (the form's), so
/// that a field costs no allocation of its own: `+` is a space, `%XX` a byte (a `%` without two
/// hex digits stays as it is), and bytes that are not UTF-8 are replaced with U+FFFD, as
/// `form_urlencoded` decodes a piece.
pub(crate) struct Decoder<'b> {
    body: &'b [u8],
    /// The body as text, when it is UTF-8: one check for the whole body (the usual case)
    /// instead of one per piece, since a piece between ASCII delimiters of valid text is valid.
    text: Option<&'b str>,
    /// The bytes of consecutive escapes above ASCII, checked as UTF-8 together (`%C3%A9`).
    pending: Vec<u8>,
}

impl<'b> Decoder<'b> {
    pub(crate) fn new(body: &'b [u8]) -> Self {
        Self { body, text: std::str::from_utf8(body).ok(), pending: Vec::new() }
    }

    /// Appends `piece` (of this decoder's body), decoded, to `out`.
    pub(crate) fn append(&mut self, piece: &RawPiece, out: &mut String) {
        let Some(text) = self.text else {
            out.push_str(&piece.decode(self.body));
            return;
        };
        let range = piece.range.clone();
        if !piece.escaped {
            out.push_str(&text[range]);
            return;
        }
        let bytes = self.body;
        let end = range.end;
        // `literal` starts the text not yet copied; every index it and `at` stop at is an ASCII
        // byte (a delimiter, `+` or `%`), so a boundary of the body's characters.
        let (mut literal, mut at) = (range.start, range.start);
        while at < end {
            let Some((byte, width)) = escape(&bytes[at..end]) else {
                at += 1;
                continue;
            };
            if literal < at {
                self.flush(out);
                out.push_str(&text[literal..at]);
            }
            if byte.is_ascii() {
                self.flush(out);
                out.push(char::from(byte));
            } else {
                self.pending.push(byte);
            }
            at += width;
            literal = at;
        }
        if literal < end {
            self.flush(out);
            out.push_str(&text[literal..end]);
        }
        self.flush(out);
    }

    /// Appends the pending escaped bytes: a sequence that is not UTF-8 ends at the next byte
    /// that is not an escape above ASCII (a literal character or an ASCII escape starts a new
    /// one), so checking each run of them alone replaces what checking the whole piece would.
    fn flush(&mut self, out: &mut String) {
        if !self.pending.is_empty() {
            out.push_str(&String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
    }
}

/// A name or value as it is in the body.
#[derive(Debug, Clone)]
pub(crate) struct RawPiece {
    /// Where it is in the body.
    pub(crate) range: std::ops::Range<usize>,
    /// Whether it holds a `+` or `%` (and needs decoding).
    pub(crate) escaped: bool,
}

impl RawPiece {
    /// This piece of `body`, decoded (the scan for escapes already done by [`raw_pairs`]).
    pub(crate) fn decode<'b>(&self, body: &'b [u8]) -> Cow<'b, str> {
        let raw = &body[self.range.clone()];
        if self.escaped { unescape(raw) } else { text(raw) }
    }
}

/// The non-empty pairs of `body`, undecoded. (memchr's searches win on the long values, such
/// as a CSRF token, that a byte-at-a-time scan would crawl over.)
pub(crate) fn raw_pairs(body: &[u8]) -> impl Iterator<Item = (RawPiece, RawPiece)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < body.len() {
            let start = at;
            let end = memchr::memchr(b'&', &body[start..]).map_or(body.len(), |offset| start + offset);
            at = end + 1;
            if end == start {
                continue;
            }
            let pair = &body[start..end];
            let equals =
                if pair.len() < 32 { pair.iter().position(|&byte| byte == b'=') } else { memchr::memchr(b'=', pair) };
            let (name, value) = match equals {
                Some(offset) => (start..start + offset, start + offset + 1..end),
                None => (start..end, end..end),
            };
            let piece = |range: std::ops::Range<usize>| RawPiece { escaped: is_escaped(&body[range.clone()]), range };
            return Some((piece(name), piece(value)));
        }
        None
    })
}

/// Whether `raw` has anything to decode (`+` or `%`).
fn is_escaped(raw: &[u8]) -> bool {
    // Most names and values are a few bytes long, where memchr's setup costs more than a loop.
    if raw.len() < 32 {
        raw.iter().any(|&byte| byte == b'+' || byte == b'%')
    } else {
        memchr::memchr2(b'+', b'%', raw).is_some()
    }
}

/// `raw` as text, borrowed when it is UTF-8 (`str::from_utf8` first: on valid text it is
/// quicker than `String::from_utf8_lossy`'s chunked scan).
fn text(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(raw),
    }
}

/// `raw`, which holds escapes, decoded: `+` is a space, `%XX` a byte.
fn unescape(raw: &[u8]) -> Cow<'_, str> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut at = 0;
    while let Some(&byte) = raw.get(at) {
        let (byte, width) = escape(&raw[at..]).unwrap_or((byte, 1));
        bytes.push(byte);
        at += width;
    }
    Cow::Owned(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
    })
}

/// The escape that `raw` starts with, as its byte and width: `+` is a space, `%XX` a byte;
/// `None` for anything else, a `%` without two hex digits included (it stays as it is).
fn escape(raw: &[u8]) -> Option<(u8, usize)> {
    match raw {
        [b'+', ..] => Some((b' ', 1)),
        [b'%', high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
            Some((hex(*high) << 4 | hex(*low), 3))
        }
        _ => None,
    }
}

/// The value of one hex digit (already checked to be one).
fn hex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair decoded both ways the crate decodes: onto a shared buffer (forms) and alone
    /// (the CSRF token scan), which must agree.
    fn ours(body: &[u8]) -> Vec<(String, String)> {
        let mut decoder = Decoder::new(body);
        let mut buffer = String::new();
        raw_pairs(body)
            .map(|(name, value)| {
                let start = buffer.len();
                decoder.append(&name, &mut buffer);
                let middle = buffer.len();
                decoder.append(&value, &mut buffer);
                let pair = (buffer[start..middle].to_owned(), buffer[middle..].to_owned());
                assert_eq!((name.decode(body).into_owned(), value.decode(body).into_owned()), pair);
                pair
            })
            .collect()
    }

    fn reference(body: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(body).map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
    }

    #[test]
    fn reads_bodies_as_form_urlencoded_does() {
        let bodies: [&[u8]; 24] = [
            b"",
            b"&",
            b"&&a=1&&",
            b"a",
            b"a=",
            b"=b",
            b"=",
            b"a=1=2",
            b"a=1&a=2&b",
            b"name=Ada+L%C3%B6wen&x=%2B%26%3D",
            b"%",
            b"%4",
            b"%zz=%4g&%%41=%41%",
            b"%41%42=%c3%A9",
            b"a+b=c+d+",
            b"\xff=\xfe&%ff=%fe",
            b"caf\xc3\xa9=na\xc3\xafve",
            b"half=%c3&rest=%a9",
            b"mixed=\xe2\x82+%ac",
            b"nul=%00&tab=%09",
            b"long=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%20",
            b"token=IjEyMyI.aQ7x.AbC-_d&next=%2Fpage%3Fa%3D1",
            b"emoji=%F0%9F%98%80&broken=%F0%9F",
            b"a=%2",
        ];
        for body in bodies {
            assert_eq!(ours(body), reference(body), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn agrees_with_form_urlencoded_on_every_short_body_over_a_small_alphabet() {
        // Every body of up to five bytes over the bytes that matter to the parser, including
        // hex digits in both cases, a lone UTF-8 lead byte and a continuation byte.
        let alphabet: &[u8] = b"a=&+%4F\xc3\xa9";
        let mut body = Vec::new();
        for length in 0..=5_u32 {
            for mut index in 0..alphabet.len().pow(length) {
                body.clear();
                for _ in 0..length {
                    body.push(alphabet[index % alphabet.len()]);
                    index /= alphabet.len();
                }
                assert_eq!(ours(&body), reference(&body), "{body:?}");
            }
        }
    }

    #[test]
    fn plain_text_is_borrowed() {
        let value = |body: &'static [u8]| {
            let (_, value) = raw_pairs(body).next().expect("one pair");
            value.decode(body)
        };
        assert!(matches!(value(b"x=susan"), Cow::Borrowed("susan")));
        assert!(matches!(value(b"x=caf\xc3\xa9"), Cow::Borrowed("café")));
        assert!(matches!(value(b"x=a+b"), Cow::Owned(text) if text == "a b"));
    }
}
