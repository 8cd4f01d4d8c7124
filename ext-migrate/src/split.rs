//! Splitting a revision's SQL into statements, so that each runs (and is reported) on its own.
//!
//! A statement ends at a `;` outside quotes and comments. The scanner knows each dialect's
//! quoting: `'...'` with `''` (and backslash escapes in MySQL and in PostgreSQL's `E'...'`),
//! `"..."`, `` `...` `` (MySQL, SQLite), PostgreSQL's dollar-quoted bodies (`$$ ... $$`,
//! `$tag$ ... $tag$`), `--` and `/* */` comments (nested in PostgreSQL) and MySQL's `#`
//! comments. `CREATE TRIGGER`, `PROCEDURE`, `FUNCTION` and `EVENT` statements with a
//! `BEGIN ... END` body (SQLite triggers, MySQL routines, PostgreSQL `BEGIN ATOMIC`) keep the
//! semicolons of their body. Anything else can be fenced by hand:
//!
//! ```sql
//! -- +statement-begin
//! CREATE PROCEDURE odd() BEGIN ... END;
//! -- +statement-end
//! ```
//!
//! Hand-written rather than taken from a SQL parser crate: the runner only needs statement
//! boundaries and line numbers, for three dialects, including bodies a full parser might not
//! accept; a complete parser would be heavier and stricter than this job needs.

/// The SQL dialect whose quoting rules apply when splitting.
///
/// # Examples
///
/// ```
/// use phial_migrate::Dialect;
/// use phial_sql::Backend;
///
/// assert_eq!(Dialect::from(Backend::Postgres), Dialect::Postgres);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MariaDB and MySQL.
    MySql,
}

impl From<phial_sql::Backend> for Dialect {
    fn from(backend: phial_sql::Backend) -> Self {
        match backend {
            phial_sql::Backend::Postgres => Self::Postgres,
            phial_sql::Backend::MySql => Self::MySql,
            _ => Self::Sqlite,
        }
    }
}

impl std::str::FromStr for Dialect {
    type Err = crate::MigrateError;

    /// `sqlite`, `postgres` (or `postgresql`), `mysql` (or `mariadb`), or a database URL
    /// whose scheme is one of those.
    ///
    /// # Examples
    ///
    /// ```
    /// use phial_migrate::Dialect;
    ///
    /// assert_eq!("mariadb".parse::<Dialect>()?, Dialect::MySql);
    /// assert_eq!("postgres://nobody@db.invalid/app".parse::<Dialect>()?, Dialect::Postgres);
    /// assert!("oracle".parse::<Dialect>().is_err());
    /// # Ok::<(), phial_migrate::MigrateError>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, crate::MigrateError> {
        let name = if text.contains(':') { text } else { &format!("{text}:") };
        phial_sql::Backend::from_url(name).map(Self::from).map_err(|_| {
            crate::MigrateError::Usage(format!("`{text}` is not a dialect; use sqlite, postgres or mysql"))
        })
    }
}

/// One statement of a revision and the line it starts on in its file.
///
/// # Examples
///
/// ```
/// use phial_migrate::{Dialect, Statement};
///
/// let statements = Statement::split("CREATE TABLE a (x int);\n\nINSERT INTO a VALUES (';');", 1, Dialect::Sqlite)?;
/// assert_eq!(statements.len(), 2);
/// assert_eq!(statements[1].line, 3);
/// # Ok::<(), phial_migrate::MigrateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement, without its final `;`.
    pub sql: String,
    /// Its first line in the file (1-based).
    pub line: usize,
}

const FENCE_BEGIN: &str = "-- +statement-begin";
const FENCE_END: &str = "-- +statement-end";

impl Statement {
    /// Splits `sql`, whose first line is line `first_line` of its file, into statements.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Parse`](crate::MigrateError::Parse) (with an empty path; callers that
    /// know the file fill it in) for an unterminated quote, comment, dollar-quoted body,
    /// `BEGIN ... END` block or `-- +statement-begin` fence.
    pub fn split(sql: &str, first_line: usize, dialect: Dialect) -> Result<Vec<Self>, crate::MigrateError> {
        split(sql, first_line, dialect).map_err(|err| crate::MigrateError::Parse {
            path: std::path::PathBuf::new(),
            line: err.line,
            message: err.message,
        })
    }
}

/// Where and why a body could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

pub(crate) fn split(sql: &str, first_line: usize, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    let mut statements = Vec::new();
    let mut segment = String::new();
    let mut segment_line = first_line;
    let mut fenced: Option<(usize, String)> = None;
    for (offset, line) in sql.split('\n').enumerate() {
        let number = first_line + offset;
        let marker = line.trim();
        match (&mut fenced, marker) {
            (None, FENCE_BEGIN) => {
                Scanner::new(&segment, segment_line, dialect).run(&mut statements)?;
                segment.clear();
                fenced = Some((number + 1, String::new()));
            }
            (None, FENCE_END) => {
                return Err(SplitError { line: number, message: format!("`{FENCE_END}` without `{FENCE_BEGIN}`") });
            }
            (None, _) => {
                if segment.is_empty() {
                    segment_line = number;
                }
                segment.push_str(line);
                segment.push('\n');
            }
            (Some((start, body)), FENCE_END) => {
                let text = body.trim();
                let text = text.strip_suffix(';').unwrap_or(text).trim_end();
                if !text.is_empty() {
                    statements.push(Statement { sql: text.to_owned(), line: *start });
                }
                fenced = None;
                segment_line = number + 1;
            }
            (Some(_), FENCE_BEGIN) => {
                return Err(SplitError { line: number, message: format!("`{FENCE_BEGIN}` inside a fenced statement") });
            }
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    if let Some((start, _)) = fenced {
        return Err(SplitError { line: start - 1, message: format!("`{FENCE_BEGIN}` without `{FENCE_END}`") });
    }
    Scanner::new(&segment, segment_line, dialect).run(&mut statements)?;
    Ok(statements)
}

/// Tracks `BEGIN ... END` bodies of `CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT` statements.
#[derive(Default)]
struct Blocks {
    /// The statement's first words (upper case), enough to tell whether it is a routine.
    head: Vec<String>,
    routine: Option<bool>,
    depth: i32,
    previous: String,
    opened_at: usize,
}

impl Blocks {
    fn word(&mut self, word: &str, line: usize) {
        let upper = word.to_ascii_uppercase();
        if self.routine.is_none() {
            self.head.push(upper.clone());
            self.routine = classify(&self.head);
        }
        if self.routine == Some(true) {
            match upper.as_str() {
                "BEGIN" => {
                    if self.depth == 0 {
                        self.opened_at = line;
                    }
                    self.depth += 1;
                }
                "CASE" if self.previous != "END" => self.depth += 1,
                "END" => self.depth -= 1,
                // `END IF`, `END LOOP`, ...: those blocks never opened a level.
                "IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR" if self.previous == "END" => self.depth += 1,
                _ => {}
            }
        }
        self.previous = upper;
    }
}

/// `Some(true)` once the first words show a routine, `Some(false)` once they show anything
/// else, `None` while undecided.
fn classify(head: &[String]) -> Option<bool> {
    const PREFIX: &[&str] = &[
        "OR",
        "REPLACE",
        "TEMP",
        "TEMPORARY",
        "DEFINER",
        "AGGREGATE",
        "CONSTRAINT",
        "CURRENT_USER",
        "SQL",
        "SECURITY",
        "INVOKER",
    ];
    if head[0] != "CREATE" {
        return Some(false);
    }
    let last = head.last().map(String::as_str)?;
    if head.len() == 1 || PREFIX.contains(&last) {
        // Still in `CREATE OR REPLACE DEFINER ...`; give up on very long prefixes.
        return if head.len() >= 8 { Some(false) } else { None };
    }
    Some(matches!(last, "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT"))
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    dialect: Dialect,
    at: usize,
    line: usize,
    start: usize,
    start_line: Option<usize>,
    blocks: Blocks,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, first_line: usize, dialect: Dialect) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            dialect,
            at: 0,
            line: first_line,
            start: 0,
            start_line: None,
            blocks: Blocks::default(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    fn significant(&mut self) {
        if self.start_line.is_none() {
            self.start_line = Some(self.line);
        }
    }

    fn run(mut self, out: &mut Vec<Statement>) -> Result<(), SplitError> {
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                b'-' if self.peek(1) == Some(b'-') => self.skip_line(),
                b'#' if self.dialect == Dialect::MySql => self.skip_line(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment()?,
                b'\'' => {
                    self.significant();
                    let backslash = self.dialect == Dialect::MySql;
                    self.skip_quoted(b'\'', backslash)?;
                }
                b'"' => {
                    self.significant();
                    let backslash = self.dialect == Dialect::MySql;
                    self.skip_quoted(b'"', backslash)?;
                }
                b'`' if self.dialect != Dialect::Postgres => {
                    self.significant();
                    self.skip_quoted(b'`', false)?;
                }
                b'$' if self.dialect == Dialect::Postgres && self.dollar_tag().is_some() => {
                    self.significant();
                    self.skip_dollar_quoted()?;
                }
                b';' if self.blocks.depth <= 0 => {
                    self.finish(out);
                    self.at += 1;
                    self.start = self.at;
                }
                b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => self.word()?,
                b => {
                    if !b.is_ascii_whitespace() {
                        self.significant();
                    }
                    self.at += 1;
                }
            }
        }
        if self.blocks.depth > 0 {
            return Err(SplitError {
                line: self.blocks.opened_at,
                message: format!(
                    "`BEGIN` without a matching `END`: end the body with `END;`, or fence the statement with \
                     `{FENCE_BEGIN}` and `{FENCE_END}` lines"
                ),
            });
        }
        self.finish(out);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Statement>) {
        if let Some(line) = self.start_line.take() {
            let sql = self.text[self.start..self.at].trim();
            out.push(Statement { sql: sql.to_owned(), line });
        }
        self.blocks = Blocks::default();
    }

    fn word(&mut self) -> Result<(), SplitError> {
        self.significant();
        let begin = self.at;
        while self.peek(0).is_some_and(is_word_byte) {
            self.at += 1;
        }
        let word = &self.text[begin..self.at];
        // PostgreSQL's escape strings: E'it\'s'.
        if self.dialect == Dialect::Postgres && word.eq_ignore_ascii_case("e") && self.peek(0) == Some(b'\'') {
            return self.skip_quoted(b'\'', true);
        }
        self.blocks.word(word, self.line);
        Ok(())
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|b| b != b'\n') {
            self.at += 1;
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), SplitError> {
        let opened = self.line;
        let nests = self.dialect == Dialect::Postgres;
        let mut depth = 0usize;
        while let Some(byte) = self.peek(0) {
            match (byte, self.peek(1)) {
                (b'/', Some(b'*')) if depth == 0 || nests => {
                    depth += 1;
                    self.at += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    self.at += 2;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                (b'\n', _) => {
                    self.line += 1;
                    self.at += 1;
                }
                _ => self.at += 1,
            }
        }
        Err(SplitError { line: opened, message: "unterminated `/*` comment".to_owned() })
    }

    fn skip_quoted(&mut self, quote: u8, backslash: bool) -> Result<(), SplitError> {
        let opened = self.line;
        self.at += 1;
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\\' if backslash => {
                    if self.peek(1) == Some(b'\n') {
                        self.line += 1;
                    }
                    self.at += 2;
                }
                b if b == quote && self.peek(1) == Some(quote) => self.at += 2,
                b if b == quote => {
                    self.at += 1;
                    return Ok(());
                }
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                _ => self.at += 1,
            }
        }
        let what = match quote {
            b'\'' => "string ('...')",
            b'"' => "quoted identifier (\"...\")",
            _ => "quoted identifier (`...`)",
        };
        Err(SplitError { line: opened, message: format!("unterminated {what}") })
    }

    /// The dollar-quote tag starting here (`$$`, `$body$`), unless `$` is part of a word or
    /// a parameter (`$1`).
    fn dollar_tag(&self) -> Option<&'a str> {
        if self.at > 0 && is_word_byte(self.bytes[self.at - 1]) {
            return None;
        }
        let rest = &self.bytes[self.at + 1..];
        if rest.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let len = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b >= 0x80).count();
        (rest.get(len) == Some(&b'$')).then(|| &self.text[self.at..self.at + len + 2])
    }

    fn skip_dollar_quoted(&mut self) -> Result<(), SplitError> {
        let tag = self.dollar_tag().unwrap_or("$$");
        let opened = self.line;
        let body = self.at + tag.len();
        match self.text[body..].find(tag) {
            Some(end) => {
                self.line += self.text[body..body + end].matches('\n').count();
                self.at = body + end + tag.len();
                Ok(())
            }
            None => Err(SplitError { line: opened, message: format!("unterminated dollar-quoted body `{tag}`") }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(sql: &str, dialect: Dialect) -> Vec<String> {
        split(sql, 1, dialect).unwrap().into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "CREATE TABLE a (x text); -- a; comment\nINSERT INTO a VALUES ('x;y', 'it''s');\n/* b; */ SELECT \"a;b\" FROM a";
        assert_eq!(
            sqls(sql, Dialect::Sqlite),
            [
                "CREATE TABLE a (x text)",
                "-- a; comment\nINSERT INTO a VALUES ('x;y', 'it''s')",
                "/* b; */ SELECT \"a;b\" FROM a"
            ]
        );
    }

    #[test]
    fn comment_only_tails_are_not_statements() {
        assert_eq!(sqls("SELECT 1;\n-- done\n/* really */\n", Dialect::Postgres), ["SELECT 1"]);
        assert!(sqls("  \n-- nothing\n", Dialect::MySql).is_empty());
    }

    #[test]
    fn dollar_quoted_bodies_keep_their_semicolons() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  NEW.x := 1; RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;\nSELECT $1;";
        let got = split(sql, 10, Dialect::Postgres).unwrap();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].sql.ends_with("LANGUAGE plpgsql"));
        assert_eq!(got[1].line, 15);
        assert_eq!(got[2].sql, "SELECT $1");
    }

    #[test]
    fn postgres_escape_strings_and_nested_comments() {
        let sql = "SELECT E'it\\'s;'; /* outer /* inner; */ still; */ SELECT 2;";
        assert_eq!(sqls(sql, Dialect::Postgres), ["SELECT E'it\\'s;'", "/* outer /* inner; */ still; */ SELECT 2"]);
    }

    #[test]
    fn mysql_backslashes_and_hash_comments() {
        let sql = "INSERT INTO t VALUES ('a\\';b'); # c; d\nSELECT `x;y` FROM t;";
        assert_eq!(sqls(sql, Dialect::MySql), ["INSERT INTO t VALUES ('a\\';b')", "# c; d\nSELECT `x;y` FROM t"]);
    }

    #[test]
    fn trigger_bodies_keep_their_semicolons() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END;\n  DELETE FROM c;\nEND;\nSELECT 1;";
        let got = sqls(sql, Dialect::Sqlite);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("END"));
    }

    #[test]
    fn mysql_procedures_with_if_and_loops() {
        let sql = "CREATE DEFINER = CURRENT_USER PROCEDURE p() BEGIN\n  IF 1 THEN SELECT 1; END IF;\n  l: LOOP LEAVE l; END LOOP l;\nEND;\nSELECT 2;";
        assert_eq!(sqls(sql, Dialect::MySql).len(), 2);
    }

    #[test]
    fn ordinary_statements_with_begin_like_words_still_split() {
        let sql = "CREATE TABLE event (id int, begin_at int);\nCREATE TABLE x (y int);";
        assert_eq!(sqls(sql, Dialect::MySql).len(), 2);
        assert_eq!(sqls("BEGIN;\nSELECT 1;", Dialect::Sqlite).len(), 2);
    }

    #[test]
    fn fences_make_one_statement() {
        let sql =
            "SELECT 1;\n-- +statement-begin\nCREATE PROCEDURE x() BEGIN SELECT 1; END;\n-- +statement-end\nSELECT 2;";
        let got = split(sql, 5, Dialect::MySql).unwrap();
        assert_eq!(
            got.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>(),
            ["SELECT 1", "CREATE PROCEDURE x() BEGIN SELECT 1; END", "SELECT 2"]
        );
        assert_eq!(got[1].line, 7);
        assert_eq!(got[2].line, 9);
    }

    #[test]
    fn unterminated_things_are_errors_with_their_line() {
        let cases = [
            ("SELECT 1;\nSELECT 'oops;\n", Dialect::Sqlite, 2, "unterminated string"),
            ("SELECT 1;\n\n/* never closed", Dialect::MySql, 3, "unterminated `/*`"),
            ("DO $$ BEGIN\nEND;", Dialect::Postgres, 1, "dollar-quoted"),
            ("SELECT 1;\n-- +statement-begin\nSELECT 2;", Dialect::Sqlite, 2, "without `-- +statement-end`"),
            ("CREATE TRIGGER t AFTER INSERT ON a\nBEGIN SELECT 1;", Dialect::Sqlite, 2, "`BEGIN` without"),
        ];
        for (sql, dialect, line, message) in cases {
            let err = split(sql, 1, dialect).unwrap_err();
            assert_eq!(err.line, line, "{sql}: {err:?}");
            assert!(err.message.contains(message), "{sql}: {err:?}");
        }
    }

    #[test]
    fn statement_lines_skip_leading_blank_lines() {
        let got = split("\n\nSELECT 1;\n\n  SELECT 2;", 4, Dialect::Sqlite).unwrap();
        assert_eq!(got.iter().map(|s| s.line).collect::<Vec<_>>(), [6, 8]);
    }
}
