//! Werkzeug's `method$salt$hexdigest` hashes: scrypt and pbkdf2 (2.3+/3.x), and the legacy
//! salted-HMAC, plain-digest and plain formats of Werkzeug < 2.3 (opt-in).
//!
//! Semantics follow `werkzeug.security._hash_internal`: the salt is used as its literal UTF-8
//! bytes (not decoded), the password as UTF-8, the digest is lower-case hex; scrypt derives 64
//! bytes, pbkdf2 the hash function's digest size.

use hmac::{Hmac, Mac};
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use super::PasswordError;

/// The sha2 functions Werkzeug hashes may name (`hashlib` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sha {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Sha {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha224" => Some(Self::Sha224),
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn output_len(self) -> usize {
        match self {
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// Runs `$body` with `$d` bound to the sha2 type of `$sha`.
macro_rules! with_sha {
    ($sha:expr, $d:ident => $body:expr) => {
        match $sha {
            Sha::Sha224 => {
                type $d = sha2::Sha224;
                $body
            }
            Sha::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            Sha::Sha384 => {
                type $d = sha2::Sha384;
                $body
            }
            Sha::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
        }
    };
}

#[derive(Debug, Clone, Copy)]
enum Kdf {
    Scrypt(scrypt::Params),
    Pbkdf2 {
        sha: Sha,
        iterations: u32,
    },
    /// Werkzeug < 2.3 `sha256$salt$hex`: HMAC keyed with the salt.
    LegacyHmac(Sha),
    /// Werkzeug < 2.3 `sha256$$hex`: one unsalted digest.
    LegacyDigest(Sha),
    /// Werkzeug < 2.3 `plain$$password`.
    Plain,
}

/// A parsed Werkzeug hash, borrowing the stored string.
#[derive(Debug)]
pub(super) struct WerkzeugHash<'a> {
    kdf: Kdf,
    salt: &'a str,
    expected: Vec<u8>,
}

/// scrypt's output length in Werkzeug (`hashlib.scrypt`'s default `dklen`).
const SCRYPT_LEN: usize = 64;

/// Whether `stored` looks like a Werkzeug hash at all (`method$salt$hash`, method not empty).
pub(super) fn looks_like(stored: &str) -> bool {
    stored.splitn(3, '$').count() == 3 && !stored.starts_with('$')
}

/// Parses `stored`; legacy formats only when `allow_legacy`; scrypt needing more than
/// `memory_cap` bytes is refused.
pub(super) fn parse(stored: &str, allow_legacy: bool, memory_cap: u64) -> Result<WerkzeugHash<'_>, PasswordError> {
    let mut parts = stored.splitn(3, '$');
    let (Some(method), Some(salt), Some(digest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PasswordError::UnknownFormat);
    };
    let mut args = method.split(':');
    let name = args.next().unwrap_or_default();
    let args: Vec<&str> = args.collect();
    let kdf = match name {
        "scrypt" => Kdf::Scrypt(scrypt_params(&args, memory_cap)?),
        "pbkdf2" => pbkdf2_kdf(&args)?,
        "plain" | "md5" | "sha1" | "sha224" | "sha256" | "sha384" | "sha512" => {
            legacy_kdf(name, &args, salt, allow_legacy)?
        }
        _ => return Err(PasswordError::UnknownFormat),
    };
    let expected = match kdf {
        Kdf::Plain => digest.as_bytes().to_vec(),
        _ => hex::decode(digest).map_err(|_| PasswordError::Malformed("Werkzeug digest is not hex"))?,
    };
    let expected_len = match kdf {
        Kdf::Scrypt(_) => Some(SCRYPT_LEN),
        Kdf::Pbkdf2 { sha, .. } | Kdf::LegacyHmac(sha) | Kdf::LegacyDigest(sha) => Some(sha.output_len()),
        Kdf::Plain => None,
    };
    if expected_len.is_some_and(|len| len != expected.len()) {
        return Err(PasswordError::Malformed("Werkzeug digest has the wrong length for its method"));
    }
    Ok(WerkzeugHash { kdf, salt, expected })
}

fn scrypt_params(args: &[&str], memory_cap: u64) -> Result<scrypt::Params, PasswordError> {
    // Werkzeug reads a bare `scrypt` as its fixed defaults, N=2^15, r=8, p=1.
    let (n, r, p) = match args {
        [] => (1u64 << 15, 8, 1),
        [n, r, p] => (parse_num::<u64>(n)?, parse_num::<u32>(r)?, parse_num::<u32>(p)?),
        _ => return Err(PasswordError::Malformed("scrypt takes 3 arguments: scrypt:N:r:p")),
    };
    if n < 2 || !n.is_power_of_two() {
        return Err(PasswordError::Malformed("scrypt N must be a power of 2 greater than 1"));
    }
    let memory = 128 * u128::from(r) * (u128::from(n) + u128::from(p));
    if memory > u128::from(memory_cap) {
        return Err(PasswordError::Malformed("scrypt hash asks for more memory than the cap allows"));
    }
    let log_n = u8::try_from(n.trailing_zeros()).expect("a u64 has at most 63 trailing zeros here");
    scrypt::Params::new(log_n, r, p, SCRYPT_LEN).map_err(|_| PasswordError::Malformed("invalid scrypt parameters"))
}

fn pbkdf2_kdf(args: &[&str]) -> Result<Kdf, PasswordError> {
    // Werkzeug always stores `pbkdf2:<hash>:<iterations>`; its default iteration count changed
    // between releases, so a hash without one is ambiguous and refused.
    let [hash_name, iterations] = args else {
        return Err(PasswordError::Malformed("pbkdf2 needs a hash and an iteration count: pbkdf2:sha256:N"));
    };
    let Some(sha) = Sha::from_name(hash_name) else {
        return Err(PasswordError::Unsupported(match *hash_name {
            "sha1" => "pbkdf2:sha1 (needs a SHA-1 implementation)",
            "md5" => "pbkdf2:md5 (needs an MD5 implementation)",
            _ => "pbkdf2 with this hash function",
        }));
    };
    let iterations = parse_num::<u32>(iterations)?;
    if iterations == 0 {
        return Err(PasswordError::Malformed("pbkdf2 iteration count must be at least 1"));
    }
    Ok(Kdf::Pbkdf2 { sha, iterations })
}

fn legacy_kdf(name: &str, args: &[&str], salt: &str, allow_legacy: bool) -> Result<Kdf, PasswordError> {
    let label = match name {
        "plain" => "plain",
        "md5" => "md5",
        "sha1" => "sha1",
        "sha224" => "sha224",
        "sha256" => "sha256",
        "sha384" => "sha384",
        _ => "sha512",
    };
    if !allow_legacy {
        return Err(PasswordError::LegacyNotAllowed(label));
    }
    if !args.is_empty() {
        return Err(PasswordError::Malformed("legacy Werkzeug methods take no arguments"));
    }
    if name == "plain" {
        return Ok(Kdf::Plain);
    }
    let Some(sha) = Sha::from_name(name) else {
        return Err(PasswordError::Unsupported(match name {
            "md5" => "legacy md5 (needs an MD5 implementation)",
            _ => "legacy sha1 (needs a SHA-1 implementation)",
        }));
    };
    Ok(if salt.is_empty() { Kdf::LegacyDigest(sha) } else { Kdf::LegacyHmac(sha) })
}

fn parse_num<T: std::str::FromStr>(text: &str) -> Result<T, PasswordError> {
    text.parse().map_err(|_| PasswordError::Malformed("Werkzeug method argument is not a number"))
}

impl WerkzeugHash<'_> {
    /// A short name of the method, for logs.
    pub(super) fn method(&self) -> &'static str {
        match self.kdf {
            Kdf::Scrypt(_) => "werkzeug-scrypt",
            Kdf::Pbkdf2 { .. } => "werkzeug-pbkdf2",
            Kdf::LegacyHmac(_) | Kdf::LegacyDigest(_) | Kdf::Plain => "werkzeug-legacy",
        }
    }

    /// Whether `password` matches, compared in constant time.
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        let salt = self.salt.as_bytes();
        let computed = match self.kdf {
            Kdf::Scrypt(params) => {
                let mut out = vec![0u8; SCRYPT_LEN];
                scrypt::scrypt(password, salt, &params, &mut out).expect("64 bytes is a valid scrypt output length");
                out
            }
            Kdf::Pbkdf2 { sha, iterations } => {
                let mut out = vec![0u8; sha.output_len()];
                with_sha!(sha, D => pbkdf2::pbkdf2_hmac::<D>(password, salt, iterations, &mut out));
                out
            }
            Kdf::LegacyHmac(sha) => with_sha!(sha, D => {
                let mut mac = <Hmac<D> as Mac>::new_from_slice(salt).expect("HMAC takes keys of any length");
                mac.update(password);
                mac.finalize().into_bytes().to_vec()
            }),
            Kdf::LegacyDigest(sha) => with_sha!(sha, D => D::digest(password).to_vec()),
            Kdf::Plain => password.to_vec(),
        };
        bool::from(computed.ct_eq(&self.expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: u64 = 1 << 30;

    #[test]
    fn malformed_werkzeug_strings_are_errors_not_panics() {
        for stored in [
            "scrypt:abc:8:1$salt$00",
            "scrypt:1000:8:1$salt$00",
            "scrypt:16384:8$salt$00",
            "scrypt:16384:0:1$salt$00",
            "scrypt:16384:8:1$salt$zz",
            "scrypt:16384:8:1$salt$00",
            "pbkdf2:sha256$salt$00",
            "pbkdf2:sha256:0$salt$00",
            "pbkdf2:sha256:-5$salt$00",
            "pbkdf2:sha256:99999999999$salt$00",
            "pbkdf2:sha256:1000$salt$0011",
            "pbkdf2:sha256:1000:9$salt$00",
        ] {
            assert!(matches!(parse(stored, true, CAP), Err(PasswordError::Malformed(_))), "{stored}");
        }
    }

    #[test]
    fn huge_scrypt_parameters_are_refused_before_allocating() {
        let err = parse("scrypt:1073741824:8:1$salt$00", false, CAP).unwrap_err();
        assert!(matches!(err, PasswordError::Malformed(_)));
    }

    #[test]
    fn unknown_methods_and_unsupported_hashes_are_named() {
        assert!(matches!(parse("bcrypt$salt$00", true, CAP), Err(PasswordError::UnknownFormat)));
        assert!(matches!(parse("pbkdf2:sha1:1000$s$00", true, CAP), Err(PasswordError::Unsupported(_))));
        assert!(matches!(parse("md5$s$00", true, CAP), Err(PasswordError::Unsupported(_))));
        assert!(matches!(parse("md5$s$00", false, CAP), Err(PasswordError::LegacyNotAllowed("md5"))));
    }

    #[test]
    fn bare_scrypt_means_werkzeug_defaults() {
        let stored = format!("scrypt$s${}", "0".repeat(128));
        let hash = parse(&stored, false, CAP).unwrap();
        let Kdf::Scrypt(params) = hash.kdf else { panic!("not scrypt: {:?}", hash.kdf) };
        assert_eq!((params.log_n(), params.r(), params.p()), (15, 8, 1));
    }
}
