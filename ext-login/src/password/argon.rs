//! argon2id: hashing with the configured parameters, verifying any argon2 PHC string.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

use super::{PasswordConfig, PasswordError};

/// Salt length of new hashes (the argon2 crate's and OWASP's recommendation).
const SALT_LEN: usize = 16;

/// The configured argon2id instance.
#[derive(Clone)]
pub(super) struct Argon2id {
    argon2: Argon2<'static>,
    params: Params,
}

impl Argon2id {
    pub(super) fn new(config: &PasswordConfig) -> Result<Self, PasswordError> {
        let min_memory = config.parallelism.saturating_mul(8);
        if config.memory_kib < min_memory {
            return Err(PasswordError::Config(format!(
                "login.password.memory_kib must be at least 8 × parallelism ({min_memory}), got {}",
                config.memory_kib
            )));
        }
        if config.iterations == 0 {
            return Err(PasswordError::Config("login.password.iterations must be at least 1".to_owned()));
        }
        if config.parallelism == 0 || config.parallelism > Params::MAX_P_COST {
            return Err(PasswordError::Config(format!(
                "login.password.parallelism must be between 1 and {}, got {}",
                Params::MAX_P_COST,
                config.parallelism
            )));
        }
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|err| PasswordError::Config(format!("login.password: {err}")))?;
        Ok(Self { argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()), params })
    }

    /// A new PHC string for `password`, with a fresh random salt.
    pub(super) fn hash(&self, password: &[u8]) -> Result<String, PasswordError> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|err| PasswordError::Hashing(format!("no random salt: {err}")))?;
        self.hash_with_salt(password, &salt)
    }

    /// The PHC string the argon2 crate's `hash_password` makes, computed in [`working_memory`].
    fn hash_with_salt(&self, password: &[u8], salt: &[u8]) -> Result<String, PasswordError> {
        let failed = |err: &dyn std::fmt::Display| PasswordError::Hashing(err.to_string());
        let mut digest = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let mut memory = working_memory(self.params.block_count());
        self.argon2.hash_password_into_with_memory(password, salt, &mut digest, &mut memory).map_err(|e| failed(&e))?;
        drop(memory);
        let salt = SaltString::encode_b64(salt).map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&digest).map_err(|e| failed(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `hash` is argon2id v19 with exactly the configured parameters and output length.
    pub(super) fn is_current(&self, hash: &PasswordHash<'_>) -> bool {
        let Ok(params) = Params::try_from(hash) else { return false };
        hash.algorithm.as_str() == "argon2id"
            && hash.version.is_none_or(|v| v == 0x13)
            && params.m_cost() == self.params.m_cost()
            && params.t_cost() == self.params.t_cost()
            && params.p_cost() == self.params.p_cost()
            && params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN) == Params::DEFAULT_OUTPUT_LEN
            && params.keyid().is_empty()
            && params.data().is_empty()
    }
}

/// Parses an argon2 PHC string, refusing ones that ask for more than `memory_cap` bytes.
pub(super) fn parse(stored: &str, memory_cap: u64) -> Result<PasswordHash<'_>, PasswordError> {
    let hash = PasswordHash::new(stored).map_err(|_| PasswordError::Malformed("not a valid argon2 PHC string"))?;
    Algorithm::try_from(hash.algorithm).map_err(|_| PasswordError::Malformed("unknown argon2 variant"))?;
    if let Some(version) = hash.version {
        Version::try_from(version).map_err(|_| PasswordError::Malformed("unknown argon2 version"))?;
    }
    let params = Params::try_from(&hash).map_err(|_| PasswordError::Malformed("invalid argon2 parameters"))?;
    if u64::from(params.m_cost()) * 1024 > memory_cap {
        return Err(PasswordError::Malformed("argon2 hash asks for more memory than the cap allows"));
    }
    let Some(salt) = hash.salt else {
        return Err(PasswordError::Malformed("argon2 PHC string without salt"));
    };
    let mut salt_buf = [0u8; 64];
    let salt_len = salt.decode_b64(&mut salt_buf).map_err(malformed)?.len();
    if salt_len < argon2::MIN_SALT_LEN || hash.hash.is_none() {
        return Err(PasswordError::Malformed("argon2 PHC string without a hash or with a salt under 8 bytes"));
    }
    Ok(hash)
}

/// argon2's working memory for `block_count` blocks, reserved so that glibc's allocator maps
/// it afresh for every hash and unmaps it at once when the hash is done.
///
/// glibc raises its mmap threshold to the size of any mapped block freed (up to 32 MiB); from
/// then on blocks of that size come from a heap arena, which keeps them resident after they are
/// freed. With the default 19 MiB argon2id, one login left each blocking thread's arena holding
/// 19 MiB or more for the life of the process. A reservation above 32 MiB never moves the
/// threshold and is always mapped, and only the `block_count` blocks written become resident.
/// Other allocators only reserve the unused address space.
fn working_memory(block_count: usize) -> Vec<Block> {
    const ALWAYS_MAPPED: usize = (32 << 20) / Block::SIZE + 1;
    let mut blocks = Vec::with_capacity(block_count.max(ALWAYS_MAPPED));
    blocks.resize(block_count, Block::default());
    blocks
}

fn malformed<E>(_: E) -> PasswordError {
    PasswordError::Malformed("invalid argon2 PHC string")
}

/// Recomputes `hash` for `password` with the hash's own parameters; compares in constant time.
pub(super) fn verify(password: &[u8], hash: &PasswordHash<'_>) -> Result<bool, PasswordError> {
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(malformed)?;
    // The argon2 crate reads a missing `v=` as version 19, as its own verifier does.
    let version = hash.version.map(Version::try_from).transpose().map_err(malformed)?.unwrap_or_default();
    let params = Params::try_from(hash).map_err(malformed)?;
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Err(PasswordError::Malformed("argon2 PHC string without salt or hash"));
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(malformed)?;
    let mut computed = vec![0u8; expected.len()];
    let memory = working_memory(params.block_count());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut computed, memory)
        .map_err(|_| PasswordError::Malformed("argon2 rejected the stored salt or parameters"))?;
    Ok(bool::from(computed.ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;

    use super::*;

    #[test]
    fn hashes_in_own_memory_as_the_argon2_crate_does() {
        let argon = Argon2id::new(&PasswordConfig::default().with_argon2(256, 2, 1)).unwrap();
        let salt = *b"sixteen byte slt";
        let ours = argon.hash_with_salt(b"hunter2", &salt).unwrap();
        let crate_hash =
            argon.argon2.hash_password(b"hunter2", &SaltString::encode_b64(&salt).unwrap()).unwrap().to_string();
        assert_eq!(ours, crate_hash);
        let parsed = parse(&ours, 1 << 30).unwrap();
        assert!(verify(b"hunter2", &parsed).unwrap());
        assert!(!verify(b"hunter3", &parsed).unwrap());
        assert!(argon.is_current(&parsed));
    }

    #[test]
    fn working_memory_reserves_past_the_mmap_threshold_but_holds_what_was_asked() {
        let blocks = working_memory(19456);
        assert_eq!(blocks.len(), 19456);
        assert!(blocks.capacity() * Block::SIZE > 32 << 20);
        assert_eq!(working_memory(40000).len(), 40000);
    }
}
