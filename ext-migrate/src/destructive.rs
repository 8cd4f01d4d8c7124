//! Spotting statements that destroy data, for `plan` and for the marks autogenerate writes.
//!
//! The check reads the statement's words with comments and quoted text removed, so a
//! `DROP TABLE` inside a string or a comment is not reported. It is a review aid, not a
//! guarantee: a statement it does not know (a function that deletes rows) is not flagged.

/// What makes a statement destructive: `DROP TABLE`, `DROP COLUMN`, `TRUNCATE`, `DELETE`
/// or `UPDATE` without `WHERE`, `DROP SCHEMA`/`DROP DATABASE`; `None` for anything else.
pub(crate) fn destructive(sql: &str) -> Option<&'static str> {
    let words = words(sql);
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    let has = |w: &str| words.iter().any(|x| x == w);
    match (word(0), word(1)) {
        ("DROP", "TABLE") => Some("DROP TABLE"),
        ("DROP", "SCHEMA" | "DATABASE") => Some("DROP SCHEMA"),
        ("TRUNCATE", _) => Some("TRUNCATE"),
        ("DELETE", _) if !has("WHERE") => Some("DELETE without WHERE"),
        ("UPDATE", _) if !has("WHERE") => Some("UPDATE without WHERE"),
        ("ALTER", "TABLE") => drops_column(&words).then_some("DROP COLUMN"),
        _ => None,
    }
}

/// `ALTER TABLE t DROP COLUMN c`, and MySQL's `ALTER TABLE t DROP c` (a `DROP` not followed
/// by a constraint or index keyword).
fn drops_column(words: &[String]) -> bool {
    // `ALTER COLUMN c DROP DEFAULT` / `DROP NOT NULL` keep the column.
    const NOT_COLUMNS: &[&str] = &[
        "CONSTRAINT",
        "INDEX",
        "KEY",
        "PRIMARY",
        "FOREIGN",
        "CHECK",
        "DEFAULT",
        "NOT",
        "IDENTITY",
        "EXPRESSION",
        "PARTITION",
    ];
    words.windows(2).any(|pair| pair[0] == "DROP" && !NOT_COLUMNS.contains(&pair[1].as_str()))
}

/// The statement's words in upper case, without comments or quoted text.
fn words(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut words = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if b == b'-' && next == Some(b'-') || b == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b == b'/' && next == Some(b'*') {
            i += 2;
            while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if matches!(b, b'\'' | b'"' | b'`') {
            i += 1;
            while i < bytes.len() && bytes[i] != b {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            flush(&mut current, &mut words);
            continue;
        } else if b.is_ascii_alphanumeric() || b == b'_' {
            current.push(char::from(b.to_ascii_uppercase()));
            i += 1;
            continue;
        } else {
            i += 1;
        }
        flush(&mut current, &mut words);
    }
    flush(&mut current, &mut words);
    words
}

fn flush(current: &mut String, words: &mut Vec<String>) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_losing_statements_are_named() {
        let cases = [
            ("DROP TABLE users", Some("DROP TABLE")),
            ("drop table if exists \"users\"", Some("DROP TABLE")),
            ("ALTER TABLE users DROP COLUMN name", Some("DROP COLUMN")),
            ("ALTER TABLE users DROP name", Some("DROP COLUMN")),
            ("TRUNCATE users", Some("TRUNCATE")),
            ("DELETE FROM users", Some("DELETE without WHERE")),
            ("UPDATE users SET name = 'x'", Some("UPDATE without WHERE")),
            ("DROP SCHEMA app CASCADE", Some("DROP SCHEMA")),
        ];
        for (sql, expected) in cases {
            assert_eq!(destructive(sql), expected, "{sql}");
        }
    }

    #[test]
    fn safe_statements_and_quoted_words_are_not() {
        for sql in [
            "CREATE TABLE t (x int)",
            "DELETE FROM users WHERE id = 1",
            "UPDATE users SET a = 1 WHERE id = 2",
            "ALTER TABLE users DROP CONSTRAINT users_pkey",
            "ALTER TABLE users ALTER COLUMN name DROP NOT NULL",
            "ALTER TABLE users ALTER COLUMN name DROP DEFAULT",
            "ALTER TABLE users DROP INDEX ix_name",
            "ALTER TABLE users DROP FOREIGN KEY fk_x",
            "INSERT INTO notes VALUES ('DROP TABLE users')",
            "-- DROP TABLE users\nSELECT 1",
            "DROP INDEX ix_users_name",
        ] {
            assert_eq!(destructive(sql), None, "{sql}");
        }
    }
}
