//! Password hashing and verification.
