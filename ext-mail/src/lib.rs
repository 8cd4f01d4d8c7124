//! phial-mail: e-mail for phial apps, in the role of Flask-Mail (work in progress).
#![cfg_attr(docsrs, feature(doc_cfg))]
