//! phial-login: logins for phial apps, in the role of Flask-Login.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod password;
