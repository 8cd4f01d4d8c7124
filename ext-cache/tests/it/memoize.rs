//! memoize: cached function results (filled in below).
