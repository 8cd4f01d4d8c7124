//! phial-limiter: rate limiting for phial apps, in the role of Flask-Limiter (work in progress).
#![cfg_attr(docsrs, feature(doc_cfg))]
