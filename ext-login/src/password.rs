//! Password hashing and verification: argon2id for new hashes, Werkzeug's hashes accepted so
//! users of a migrated Flask app keep their passwords, and rehash-on-login.
//!
//! [`PasswordHasher`] hashes with argon2id (`m=19456,t=2,p=1` by default: 19 mebibytes, OWASP's
//! recommendation) and verifies argon2 PHC strings and Werkzeug's `scrypt:N:r:p$salt$hex` and
//! `pbkdf2:sha256:N$salt$hex`. Work runs on Tokio's blocking pool, at most
//! [`PasswordConfig::max_concurrent`] hashes at once, so logins never stall the async runtime
//! and a burst of logins cannot take every core. Digests are compared in constant time
//! (`subtle`).
//!
//! [`PasswordHasher::verify`] answers [`Verified::Match`] with a new argon2id hash to store when
//! the stored one is a Werkzeug hash or uses other parameters: users migrate as they log in.
//! When no user has the given name, call [`PasswordHasher::verify_missing_user`]: it costs what a
//! wrong password costs, so response times do not tell which accounts exist.
//!
//! # Examples
//!
//! ```
//! use phial_login::password::{PasswordConfig, PasswordHasher, Verified};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), phial_login::password::PasswordError> {
//! # let config = PasswordConfig::default().with_argon2(64, 1, 1); // fast for this example
//! let hasher = PasswordHasher::new(config)?;
//! let stored = hasher.hash("hunter2").await?;
//! assert!(stored.starts_with("$argon2id$v=19$"));
//!
//! // A user of the old Flask app, hashed by Werkzeug's
//! // `generate_password_hash("correct horse battery staple", method="pbkdf2:sha256:1000")`:
//! let werkzeug = "pbkdf2:sha256:1000$C6v0ACgEhFTr8vvE$\
//!     9e211e0f31ce326758b330702bc8eca68e18f53f7bb7b2c652ea6a837b439456";
//! match hasher.verify("correct horse battery staple", werkzeug).await? {
//!     Verified::Match { rehash } => {
//!         // A Werkzeug hash always comes back with an argon2id one to store instead.
//!         let new_hash = rehash.expect("Werkzeug hashes are rehashed");
//!         assert!(new_hash.starts_with("$argon2id$"));
//!     }
//!     Verified::Mismatch => unreachable!("the password is right"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Coming from Werkzeug
//!
//! | Werkzeug (`werkzeug.security`)            | phial                                      |
//! |-------------------------------------------|--------------------------------------------|
//! | `generate_password_hash(pw)` (scrypt)     | [`PasswordHasher::hash`] (argon2id)        |
//! | `check_password_hash(hash, pw)`           | [`PasswordHasher::verify`] (+ rehash)      |
//! | `method="pbkdf2:sha256:600000"`           | [`PasswordConfig`] under `[login.password]`|
//! | `sha256$salt$hex`, `plain$$pw` (< 2.3)    | only with `allow_legacy = true`            |

mod argon;
mod werkzeug;

/// Runs the examples of the migration guide as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/migrating-passwords.md")]
struct MigratingPasswordsGuide;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use http::StatusCode;
use phial_core::Secret;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::{OnceCell, Semaphore};

/// Stored hashes may ask for at most this much memory (or the configured argon2 memory, if
/// larger): a corrupt row must not make the process allocate gigabytes and abort.
const STORED_MEMORY_CAP: u64 = 1 << 30;

/// OWASP's weakest recommended argon2id setting is `m=7168,t=5`; below this
/// memory × iterations product, [`PasswordHasher::new`] logs a warning.
const OWASP_MIN_COST: u64 = 7168 * 5;

/// Section `[login.password]`: argon2id parameters, the concurrency bound, legacy formats.
///
/// # Examples
///
/// ```toml
/// [login.password]
/// memory_kib = 19456     # argon2id m (KiB)
/// iterations = 2         # argon2id t
/// parallelism = 1        # argon2id p
/// max_concurrent = 0     # hashes at once; 0 = CPUs - 1 (at least 1)
/// allow_legacy = false   # Werkzeug < 2.3 `sha256$salt$hex`, `plain$$pw`
/// ```
///
/// ```
/// use phial_login::password::PasswordConfig;
///
/// let config = PasswordConfig::default().with_max_concurrent(2);
/// assert_eq!((config.memory_kib, config.iterations, config.parallelism), (19456, 2, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PasswordConfig {
    /// argon2id memory cost in kibibytes (`m`); at least 8 × `parallelism`. Default 19456
    /// (19 mebibytes).
    pub memory_kib: u32,
    /// argon2id passes over memory (`t`); at least 1. Default 2.
    pub iterations: u32,
    /// argon2id lanes (`p`). Default 1.
    pub parallelism: u32,
    /// Most hashes or verifications running at once; more wait their turn. `0` (the default)
    /// means the number of CPUs minus one (at least 1), so a burst of logins leaves a core to
    /// serve other requests.
    pub max_concurrent: usize,
    /// Accept Werkzeug < 2.3's insecure formats (`sha256$salt$hex` as HMAC, `sha256$$hex`,
    /// `plain$$password`) so those users can log in once and be rehashed. Default `false`:
    /// such hashes are an error ([`PasswordError::LegacyNotAllowed`]).
    pub allow_legacy: bool,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self { memory_kib: 19456, iterations: 2, parallelism: 1, max_concurrent: 0, allow_legacy: false }
    }
}

impl PasswordConfig {
    /// Sets the argon2id parameters: memory in kibibytes, iterations, parallelism.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::password::PasswordConfig;
    ///
    /// let config = PasswordConfig::default().with_argon2(47104, 1, 1);
    /// assert_eq!(config.memory_kib, 47104);
    /// ```
    #[must_use]
    pub fn with_argon2(mut self, memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        (self.memory_kib, self.iterations, self.parallelism) = (memory_kib, iterations, parallelism);
        self
    }

    /// Sets the number of hashes that may run at once (`0`: the number of CPUs minus one).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::password::PasswordConfig;
    ///
    /// assert_eq!(PasswordConfig::default().with_max_concurrent(1).max_concurrent, 1);
    /// ```
    #[must_use]
    pub fn with_max_concurrent(mut self, max_concurrent: usize) -> Self {
        self.max_concurrent = max_concurrent;
        self
    }

    /// Accepts (or refuses) Werkzeug's legacy formats; see [`allow_legacy`](Self::allow_legacy).
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::password::PasswordConfig;
    ///
    /// assert!(PasswordConfig::default().with_allow_legacy(true).allow_legacy);
    /// ```
    #[must_use]
    pub fn with_allow_legacy(mut self, allow_legacy: bool) -> Self {
        self.allow_legacy = allow_legacy;
        self
    }
}

/// What went wrong hashing or verifying a password. Every variant answers 500: the stored hash
/// or the configuration is at fault, never the client. Messages never contain a password or a
/// stored hash.
///
/// # Examples
///
/// ```
/// use phial_login::password::{PasswordConfig, PasswordError, PasswordHasher};
///
/// let hasher = PasswordHasher::new(PasswordConfig::default().with_argon2(64, 1, 1))?;
/// let err = hasher.needs_rehash("not a hash").unwrap_err();
/// assert!(matches!(err, PasswordError::UnknownFormat));
/// assert_eq!(err.status().as_u16(), 500);
/// # Ok::<(), PasswordError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// `[login.password]` has an invalid value (found at startup).
    #[error("invalid password config: {0}")]
    Config(String),
    /// The stored hash is neither an argon2 PHC string nor a Werkzeug `method$salt$hash`.
    #[error(
        "the stored password hash has an unknown format (expected an argon2 PHC string or Werkzeug's method$salt$hash)"
    )]
    UnknownFormat,
    /// The stored hash has a known format but is broken.
    #[error("the stored password hash is malformed: {0}")]
    Malformed(&'static str),
    /// A recognised format that phial cannot verify (bcrypt, md5, sha1): reset these passwords.
    #[error("stored password hashes of type {0} are not supported; ask these users to reset their password")]
    Unsupported(&'static str),
    /// A Werkzeug < 2.3 insecure format while `allow_legacy` is off.
    #[error(
        "the stored password hash uses Werkzeug's insecure legacy `{0}` format; set `allow_legacy = true` under [login.password] to accept it while users migrate"
    )]
    LegacyNotAllowed(&'static str),
    /// argon2 or the random source failed.
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// Called outside a Tokio runtime.
    #[error("password hashing needs a Tokio runtime")]
    NoRuntime,
    /// The blocking task panicked or was cancelled.
    #[error("the password hashing task failed: {0}")]
    Task(String),
}

impl PasswordError {
    /// The HTTP status this error answers with: always 500.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::password::PasswordError;
    ///
    /// assert_eq!(PasswordError::NoRuntime.status().as_u16(), 500);
    /// ```
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// The outcome of [`PasswordHasher::verify`].
///
/// # Examples
///
/// ```
/// use phial_login::password::Verified;
///
/// let verified = Verified::Match { rehash: None };
/// assert!(verified.is_match());
/// assert_eq!(verified.rehash(), None);
/// assert!(!Verified::Mismatch.is_match());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a verification result must be checked (and a rehash stored)"]
pub enum Verified {
    /// The password is right. `rehash` is a new argon2id hash to store in place of the old one
    /// when the old one is a Werkzeug hash or uses other parameters.
    Match {
        /// The hash to store, if the stored one is outdated.
        rehash: Option<String>,
    },
    /// The password is wrong.
    Mismatch,
}

impl Verified {
    /// Whether the password was right.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::Verified;
    /// assert!(Verified::Match { rehash: None }.is_match());
    /// ```
    pub fn is_match(&self) -> bool {
        matches!(self, Self::Match { .. })
    }

    /// The new hash to store, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::Verified;
    /// let verified = Verified::Match { rehash: Some("$argon2id$...".into()) };
    /// assert_eq!(verified.rehash(), Some("$argon2id$..."));
    /// ```
    pub fn rehash(&self) -> Option<&str> {
        match self {
            Self::Match { rehash } => rehash.as_deref(),
            Self::Mismatch => None,
        }
    }
}

impl fmt::Debug for Verified {
    // A hash is not a password, but it is what an attacker cracks offline: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Match { rehash } => {
                f.debug_struct("Match").field("rehash", &rehash.as_ref().map(|_| "<new argon2id hash>")).finish()
            }
            Self::Mismatch => f.write_str("Mismatch"),
        }
    }
}

/// A snapshot of the hasher's work, for metrics and tests.
///
/// # Examples
///
/// ```
/// use phial_login::password::{PasswordConfig, PasswordHasher};
///
/// let hasher = PasswordHasher::new(PasswordConfig::default())?;
/// let load = hasher.load();
/// assert_eq!((load.running, load.waiting, load.completed), (0, 0, 0));
/// # Ok::<(), phial_login::password::PasswordError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordLoad {
    /// Hashes or verifications running now on the blocking pool.
    pub running: usize,
    /// Calls waiting for a free slot (the bound is [`PasswordHasher::max_concurrent`]).
    pub waiting: usize,
    /// The most that ever ran at once.
    pub peak_running: usize,
    /// Jobs finished since the hasher was made.
    pub completed: u64,
}

#[derive(Default)]
struct LoadCounters {
    running: AtomicUsize,
    waiting: AtomicUsize,
    peak_running: AtomicUsize,
    completed: AtomicU64,
}

/// Counts a waiting call until dropped (also when the caller's future is dropped).
struct WaitingGuard<'a>(&'a LoadCounters);

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a running job until dropped.
struct RunningGuard<'a>(&'a LoadCounters);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        self.0.completed.fetch_add(1, Ordering::SeqCst);
    }
}

impl LoadCounters {
    fn waiting(&self) -> WaitingGuard<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        WaitingGuard(self)
    }

    fn running(&self) -> RunningGuard<'_> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_running.fetch_max(now, Ordering::SeqCst);
        RunningGuard(self)
    }
}

struct Core {
    config: PasswordConfig,
    argon: argon::Argon2id,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    memory_cap: u64,
    load: LoadCounters,
    /// The hash [`PasswordHasher::verify_missing_user`] verifies against, made on first use.
    dummy: OnceCell<String>,
}

/// A stored hash, parsed.
enum Stored<'a> {
    Argon2(argon2::password_hash::PasswordHash<'a>),
    Werkzeug(werkzeug::WerkzeugHash<'a>),
}

impl Core {
    fn parse<'a>(&self, stored: &'a str) -> Result<Stored<'a>, PasswordError> {
        if stored.starts_with("$argon2") {
            return argon::parse(stored, self.memory_cap).map(Stored::Argon2);
        }
        if let Some(kind) = unsupported_phc(stored) {
            return Err(PasswordError::Unsupported(kind));
        }
        if werkzeug::looks_like(stored) {
            return werkzeug::parse(stored, self.config.allow_legacy, self.memory_cap).map(Stored::Werkzeug);
        }
        Err(PasswordError::UnknownFormat)
    }

    fn verify(&self, password: &[u8], stored: &str) -> Result<Verified, PasswordError> {
        let (matched, current, method) = match self.parse(stored)? {
            Stored::Argon2(hash) => (argon::verify(password, &hash)?, self.argon.is_current(&hash), "argon2"),
            Stored::Werkzeug(hash) => (hash.verify(password), false, hash.method()),
        };
        if !matched {
            return Ok(Verified::Mismatch);
        }
        if current {
            return Ok(Verified::Match { rehash: None });
        }
        tracing::debug!(from = method, "password verified with an outdated hash; rehashing with argon2id");
        Ok(Verified::Match { rehash: Some(self.argon.hash(password)?) })
    }
}

/// The PHC/MCF identifiers of formats recognised but not verified.
fn unsupported_phc(stored: &str) -> Option<&'static str> {
    let id = stored.strip_prefix('$')?.split('$').next()?;
    Some(match id {
        "2a" | "2b" | "2x" | "2y" => "bcrypt",
        "scrypt" => "PHC scrypt",
        "pbkdf2" | "pbkdf2-sha256" | "pbkdf2-sha512" => "PHC pbkdf2",
        "1" => "md5-crypt",
        "5" | "6" => "sha-crypt",
        _ => return None,
    })
}

/// argon2id hashing and verification on Tokio's blocking pool, with a bound on concurrent
/// hashes. Cheap to clone (an `Arc`); make one at startup and share it.
///
/// Verification accepts argon2 PHC strings (any variant and parameters), Werkzeug's
/// `scrypt:N:r:p$salt$hex` and `pbkdf2:<sha2>:N$salt$hex`, and with
/// [`PasswordConfig::allow_legacy`] Werkzeug < 2.3's `sha256$salt$hex`-style and `plain$$pw`.
///
/// # Examples
///
/// ```
/// use phial_login::password::{PasswordConfig, PasswordHasher};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), phial_login::password::PasswordError> {
/// let hasher = PasswordHasher::new(PasswordConfig::default())?;
/// let stored = hasher.hash("correct horse battery staple").await?;
/// assert!(hasher.verify("correct horse battery staple", &stored).await?.is_match());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    core: Arc<Core>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("config", &self.core.config)
            .field("max_concurrent", &self.core.max_concurrent)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Checks `config` and makes a hasher. Call it at startup: bad parameters are errors here,
    /// not at the first login.
    ///
    /// # Errors
    ///
    /// [`PasswordError::Config`] naming the bad key.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_login::password::{PasswordConfig, PasswordHasher};
    ///
    /// assert!(PasswordHasher::new(PasswordConfig::default()).is_ok());
    /// assert!(PasswordHasher::new(PasswordConfig::default().with_argon2(4, 1, 1)).is_err());
    /// ```
    pub fn new(config: PasswordConfig) -> Result<Self, PasswordError> {
        let argon = argon::Argon2id::new(&config)?;
        if u64::from(config.memory_kib) * u64::from(config.iterations) < OWASP_MIN_COST {
            tracing::warn!(
                memory_kib = config.memory_kib,
                iterations = config.iterations,
                "argon2id parameters are below OWASP's minimum (e.g. m=19456, t=2); fine for tests only"
            );
        }
        let max_concurrent = match config.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |cpus| cpus.get().saturating_sub(1).max(1)),
            n => n,
        };
        let memory_cap = STORED_MEMORY_CAP.max(u64::from(config.memory_kib) * 1024);
        Ok(Self {
            core: Arc::new(Core {
                argon,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
                memory_cap,
                load: LoadCounters::default(),
                dummy: OnceCell::new(),
                config,
            }),
        })
    }

    /// The configuration this hasher was made with.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher};
    /// let hasher = PasswordHasher::new(PasswordConfig::default())?;
    /// assert_eq!(hasher.config().memory_kib, 19456);
    /// # Ok::<(), phial_login::password::PasswordError>(())
    /// ```
    pub fn config(&self) -> &PasswordConfig {
        &self.core.config
    }

    /// How many hashes may run at once (`max_concurrent`, with `0` resolved to the CPU count
    /// minus one, at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher};
    /// let hasher = PasswordHasher::new(PasswordConfig::default().with_max_concurrent(3))?;
    /// assert_eq!(hasher.max_concurrent(), 3);
    /// # Ok::<(), phial_login::password::PasswordError>(())
    /// ```
    pub fn max_concurrent(&self) -> usize {
        self.core.max_concurrent
    }

    /// Running, waiting and completed jobs.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), phial_login::password::PasswordError> {
    /// let hasher = PasswordHasher::new(PasswordConfig::default().with_argon2(64, 1, 1))?;
    /// hasher.hash("pw").await?;
    /// assert_eq!(hasher.load().completed, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn load(&self) -> PasswordLoad {
        let load = &self.core.load;
        PasswordLoad {
            running: load.running.load(Ordering::SeqCst),
            waiting: load.waiting.load(Ordering::SeqCst),
            peak_running: load.peak_running.load(Ordering::SeqCst),
            completed: load.completed.load(Ordering::SeqCst),
        }
    }

    /// Hashes `password` with argon2id and the configured parameters: a PHC string
    /// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a random 16-byte salt.
    ///
    /// # Errors
    ///
    /// [`PasswordError::NoRuntime`] outside Tokio; [`PasswordError::Hashing`] if argon2 or the
    /// random source fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), phial_login::password::PasswordError> {
    /// let hasher = PasswordHasher::new(PasswordConfig::default().with_argon2(64, 1, 1))?;
    /// let stored = hasher.hash("s3cret").await?;
    /// assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = Secret::new(password);
        self.run(move |core| core.argon.hash(password.expose().as_bytes())).await
    }

    /// Checks `password` against `stored`, in constant time. On a match, `rehash` carries a new
    /// argon2id hash when `stored` is not argon2id with the current parameters (a Werkzeug
    /// hash, a legacy one, other argon2 parameters): store it in place of the old hash.
    ///
    /// # Errors
    ///
    /// [`PasswordError::UnknownFormat`], [`Malformed`](PasswordError::Malformed),
    /// [`Unsupported`](PasswordError::Unsupported) or
    /// [`LegacyNotAllowed`](PasswordError::LegacyNotAllowed) for stored hashes it cannot check;
    /// the errors of [`hash`](Self::hash).
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher, Verified};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), phial_login::password::PasswordError> {
    /// let old = PasswordHasher::new(PasswordConfig::default().with_argon2(64, 1, 1))?;
    /// let new = PasswordHasher::new(PasswordConfig::default().with_argon2(128, 1, 1))?;
    /// let stored = old.hash("s3cret").await?;
    ///
    /// assert_eq!(new.verify("wrong", &stored).await?, Verified::Mismatch);
    /// let rehash = new.verify("s3cret", &stored).await?.rehash().map(str::to_owned);
    /// assert!(rehash.unwrap().starts_with("$argon2id$v=19$m=128,"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verified, PasswordError> {
        // Refuse what cannot be checked before queueing for a slot.
        self.core.parse(stored)?;
        let password = Secret::new(password);
        let stored = stored.to_owned();
        self.run(move |core| core.verify(password.expose().as_bytes(), &stored)).await
    }

    /// For a login attempt whose user does not exist: verifies `password` against a dummy
    /// argon2id hash with the current parameters and answers [`Verified::Mismatch`]. It costs
    /// what a wrong password for an existing argon2id user costs, so timing does not reveal
    /// which accounts exist. (Users still on Werkzeug hashes cost what their hash costs until
    /// they are rehashed.)
    ///
    /// The dummy hash is made on first use; call [`warm_up`](Self::warm_up) at startup so the
    /// first unknown user does not pay for it.
    ///
    /// # Errors
    ///
    /// The errors of [`hash`](Self::hash).
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher, Verified};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), phial_login::password::PasswordError> {
    /// # let hasher = PasswordHasher::new(PasswordConfig::default().with_argon2(64, 1, 1))?;
    /// # let find_user = |_: &str| -> Option<String> { None };
    /// let verified = match find_user("alice") {
    ///     Some(stored) => hasher.verify("pw", &stored).await?,
    ///     None => hasher.verify_missing_user("pw").await?,
    /// };
    /// assert_eq!(verified, Verified::Mismatch);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify_missing_user(&self, password: &str) -> Result<Verified, PasswordError> {
        let dummy = self.dummy().await?;
        // Whatever the answer (a guess of the random dummy password), there is no such user.
        let _ = self.verify(password, &dummy).await?;
        Ok(Verified::Mismatch)
    }

    /// Makes the dummy hash of [`verify_missing_user`](Self::verify_missing_user) now. The login
    /// extension calls it from its start hook.
    ///
    /// # Errors
    ///
    /// The errors of [`hash`](Self::hash).
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), phial_login::password::PasswordError> {
    /// let hasher = PasswordHasher::new(PasswordConfig::default().with_argon2(64, 1, 1))?;
    /// hasher.warm_up().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn warm_up(&self) -> Result<(), PasswordError> {
        self.dummy().await.map(drop)
    }

    /// Whether `stored` is not an argon2id hash with the current parameters (without checking a
    /// password): for a batch job that reports how many users still need to log in.
    ///
    /// # Errors
    ///
    /// Those of [`verify`](Self::verify) for stored hashes it cannot parse.
    ///
    /// # Examples
    ///
    /// ```
    /// # use phial_login::password::{PasswordConfig, PasswordHasher};
    /// let hasher = PasswordHasher::new(PasswordConfig::default())?;
    /// let werkzeug = format!("pbkdf2:sha256:600000$salt${}", "0".repeat(64));
    /// assert!(hasher.needs_rehash(&werkzeug)?);
    /// # Ok::<(), phial_login::password::PasswordError>(())
    /// ```
    pub fn needs_rehash(&self, stored: &str) -> Result<bool, PasswordError> {
        Ok(match self.core.parse(stored)? {
            Stored::Argon2(hash) => !self.core.argon.is_current(&hash),
            Stored::Werkzeug(_) => true,
        })
    }

    async fn dummy(&self) -> Result<String, PasswordError> {
        self.core
            .dummy
            .get_or_try_init(|| async {
                let mut random = [0u8; 32];
                getrandom::fill(&mut random).map_err(|err| PasswordError::Hashing(format!("no randomness: {err}")))?;
                self.hash(&hex::encode(random)).await
            })
            .await
            .cloned()
    }

    /// Runs `job` on the blocking pool once a slot is free. The slot is held until the job ends,
    /// even if the caller stops waiting, so the bound holds for work already started.
    async fn run<T, F>(&self, job: F) -> Result<T, PasswordError>
    where
        F: FnOnce(&Core) -> Result<T, PasswordError> + Send + 'static,
        T: Send + 'static,
    {
        let runtime = Handle::try_current().map_err(|_| PasswordError::NoRuntime)?;
        let permit = {
            let _waiting = self.core.load.waiting();
            Arc::clone(&self.core.permits).acquire_owned().await.expect("the semaphore is never closed")
        };
        let core = Arc::clone(&self.core);
        runtime
            .spawn_blocking(move || {
                let out = {
                    let _running = core.load.running();
                    job(&core)
                };
                drop(permit);
                out
            })
            .await
            .map_err(|err| PasswordError::Task(err.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn fast() -> PasswordHasher {
        PasswordHasher::new(PasswordConfig::default().with_argon2(64, 1, 1).with_max_concurrent(1)).unwrap()
    }

    #[test]
    fn blocking_job_runs_off_a_current_thread_runtime() {
        // The job waits for a message that a task on the runtime's only thread sends: it can
        // only finish if the job is not running on that thread.
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let hasher = fast();
            let (tx, rx) = mpsc::channel::<()>();
            let result = runtime.block_on(async {
                let job = hasher.run(move |_| rx.recv().map_err(|err| PasswordError::Task(err.to_string())));
                let sender = async move {
                    tokio::task::yield_now().await;
                    tx.send(()).unwrap();
                };
                tokio::join!(job, sender).0
            });
            done_tx.send(result.is_ok()).unwrap();
        });
        assert_eq!(done_rx.recv_timeout(Duration::from_mins(1)), Ok(true), "the runtime thread was blocked");
    }

    #[test]
    fn second_job_waits_while_the_only_slot_is_taken() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let hasher = fast();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        runtime.block_on(async {
            let first = tokio::spawn({
                let hasher = hasher.clone();
                async move { hasher.run(move |_| release_rx.recv().map_err(|e| PasswordError::Task(e.to_string()))).await }
            });
            while hasher.load().running == 0 {
                tokio::task::yield_now().await;
            }
            let second = tokio::spawn({
                let hasher = hasher.clone();
                async move { hasher.hash("pw").await }
            });
            while hasher.load().waiting == 0 {
                tokio::task::yield_now().await;
            }
            assert_eq!(hasher.load().running, 1, "the second job must not start while the first runs");
            release_tx.send(()).unwrap();
            first.await.unwrap().unwrap();
            second.await.unwrap().unwrap();
        });
        assert_eq!(hasher.load().peak_running, 1);
        assert_eq!(hasher.load().completed, 2);
    }

    #[test]
    fn dummy_hash_uses_the_current_parameters() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let hasher = fast();
        let dummy = runtime.block_on(hasher.dummy()).unwrap();
        assert!(!hasher.needs_rehash(&dummy).unwrap());
        assert_eq!(runtime.block_on(hasher.dummy()).unwrap(), dummy, "made once");
    }

    #[test]
    fn hashing_outside_a_runtime_is_an_error() {
        let hasher = fast();
        let result = futures_util::FutureExt::now_or_never(hasher.hash("pw"));
        assert!(matches!(result, Some(Err(PasswordError::NoRuntime))));
    }

    #[test]
    fn recognised_foreign_formats_are_unsupported_not_unknown() {
        let hasher = fast();
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert!(matches!(hasher.needs_rehash(bcrypt), Err(PasswordError::Unsupported("bcrypt"))));
        assert!(matches!(hasher.needs_rehash(""), Err(PasswordError::UnknownFormat)));
        assert!(matches!(hasher.needs_rehash("$argon2id$garbage"), Err(PasswordError::Malformed(_))));
    }

    #[test]
    fn debug_output_hides_hashes() {
        let verified = Verified::Match { rehash: Some("$argon2id$v=19$secret".to_owned()) };
        assert!(!format!("{verified:?}").contains("secret"));
    }
}
