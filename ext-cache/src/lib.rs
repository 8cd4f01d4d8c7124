//! phial-cache: caching for phial apps, in the role of Flask-Caching (work in progress).
#![cfg_attr(docsrs, feature(doc_cfg))]
