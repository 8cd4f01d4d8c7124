//! phial-jwt: JSON Web Tokens for phial apps, in the role of Flask-JWT-Extended.
#![cfg_attr(docsrs, feature(doc_cfg))]
