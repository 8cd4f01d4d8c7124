//! microblog: the Flask Mega-Tutorial's application on phial (port in progress).

fn main() {}
