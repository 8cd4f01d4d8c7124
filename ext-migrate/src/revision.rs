//! [`Revision`]: one migration file, parsed strictly, with its checksum.
//!
//! ```sql
//! -- revision: 3f2a9c1b7d4e
//! -- down_revision: 1a2b3c4d5e6f
//! -- branch_labels:
//! -- message: add the user table
//! -- created: 2025-06-01T12:00:00Z
//!
//! -- +up
//! CREATE TABLE "user" (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL);
//!
//! -- +down
//! DROP TABLE "user";
//! ```
//!
//! The header is `-- key: value` lines; `down_revision` is empty for a first revision and
//! comma-separated for a merge; `-- no-transaction` in the header runs the revision outside a
//! transaction. Other `--` lines in the header are comments.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::MigrateError;
use crate::split::{Dialect, Statement, split};

/// One revision file: its header, its up and down SQL, and the checksum of the file.
///
/// # Examples
///
/// ```
/// use phial_migrate::Revision;
///
/// let text = "-- revision: a1\n-- down_revision:\n-- message: first\n\n-- +up\nCREATE TABLE t (x int);\n\n-- +down\nDROP TABLE t;\n";
/// let revision = Revision::parse("migrations/a1_first.sql", text.as_bytes())?;
/// assert_eq!(revision.id(), "a1");
/// assert!(revision.parents().is_empty());
/// assert_eq!(revision.message(), "first");
/// // A CRLF checkout of the same file is the same revision.
/// let crlf = Revision::parse("migrations/a1_first.sql", text.replace('\n', "\r\n").as_bytes())?;
/// assert_eq!(crlf.checksum(), revision.checksum());
/// # Ok::<(), phial_migrate::MigrateError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Revision {
    id: String,
    parents: Vec<String>,
    branch_labels: Vec<String>,
    message: String,
    created: Option<String>,
    transactional: bool,
    up: Section,
    down: Option<Section>,
    path: PathBuf,
    checksum: String,
}

#[derive(Debug, Clone)]
struct Section {
    sql: String,
    /// The file line of the section's first line (the one after its marker).
    first_line: usize,
}

/// The header keys a revision file may have.
const KEYS: &[&str] = &["revision", "down_revision", "branch_labels", "message", "created"];

/// Words that targets use, so they cannot be revision ids or branch labels.
const RESERVED: &[&str] = &["head", "heads", "base"];

impl Revision {
    /// Reads and parses the revision file at `path`.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Io`] when the file cannot be read; as [`parse`](Self::parse).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, MigrateError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|err| MigrateError::io(path, err))?;
        Self::parse(path, &bytes)
    }

    /// Parses a revision file's contents; `path` is used in messages.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Parse`] naming the file and line: text that is not UTF-8, an unknown or
    /// repeated header key, a missing `revision` or `down_revision`, a malformed id, SQL above
    /// `-- +up`, a missing or repeated section marker.
    pub fn parse(path: impl AsRef<Path>, bytes: &[u8]) -> Result<Self, MigrateError> {
        let path = path.as_ref().to_path_buf();
        let text = normalize(bytes).map_err(|message| MigrateError::Parse { path: path.clone(), line: 1, message })?;
        let checksum = checksum_of(&text);
        Parser::new(path, checksum).parse(&text)
    }

    /// The revision id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The parents (`down_revision`): none for a first revision, several for a merge.
    pub fn parents(&self) -> &[String] {
        &self.parents
    }

    /// The branch labels.
    pub fn branch_labels(&self) -> &[String] {
        &self.branch_labels
    }

    /// The message (`-m`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `created` header, if any.
    pub fn created(&self) -> Option<&str> {
        self.created.as_deref()
    }

    /// `false` when the header has `-- no-transaction`.
    pub fn is_transactional(&self) -> bool {
        self.transactional
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SHA-256 of the file (hex) after removing a BOM and turning CRLF into LF, so that a
    /// checkout with other line endings has the same checksum.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// The SQL of the `-- +up` section.
    pub fn up_sql(&self) -> &str {
        &self.up.sql
    }

    /// The SQL of the `-- +down` section; `None` when the file has none (irreversible).
    pub fn down_sql(&self) -> Option<&str> {
        self.down.as_ref().map(|s| s.sql.as_str())
    }

    /// The up section's statements in `dialect`.
    ///
    /// # Errors
    ///
    /// [`MigrateError::Parse`] naming the file and line of an unterminated quote or block.
    pub fn up_statements(&self, dialect: Dialect) -> Result<Vec<Statement>, MigrateError> {
        self.statements(&self.up, dialect)
    }

    /// The down section's statements in `dialect`; `None` when the file has no down section.
    ///
    /// # Errors
    ///
    /// As [`up_statements`](Self::up_statements).
    pub fn down_statements(&self, dialect: Dialect) -> Result<Option<Vec<Statement>>, MigrateError> {
        self.down.as_ref().map(|down| self.statements(down, dialect)).transpose()
    }

    fn statements(&self, section: &Section, dialect: Dialect) -> Result<Vec<Statement>, MigrateError> {
        split(&section.sql, section.first_line, dialect).map_err(|err| MigrateError::Parse {
            path: self.path.clone(),
            line: err.line,
            message: err.message,
        })
    }
}

/// Strips a UTF-8 BOM and turns CRLF into LF.
fn normalize(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|err| format!("the file is not UTF-8 ({err})"))?;
    Ok(text.replace("\r\n", "\n"))
}

/// The hex SHA-256 of normalized text.
pub(crate) fn checksum_of(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// Whether `id` can be a revision id or branch label: letters, digits and `_`, at most 64
/// characters, not a reserved target word.
pub(crate) fn valid_name(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("`{id}` is not a valid name: use 1 to 64 letters, digits or `_`"));
    }
    if RESERVED.contains(&id) {
        return Err(format!("`{id}` is a target word (head, heads, base) and cannot name a revision or branch"));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Header,
    Up,
    Down,
}

struct Parser {
    path: PathBuf,
    checksum: String,
    fields: Vec<(&'static str, String, usize)>,
    transactional: bool,
    up: Option<Section>,
    down: Option<Section>,
}

impl Parser {
    fn new(path: PathBuf, checksum: String) -> Self {
        Self { path, checksum, fields: Vec::new(), transactional: true, up: None, down: None }
    }

    fn error(&self, line: usize, message: impl Into<String>) -> MigrateError {
        MigrateError::Parse { path: self.path.clone(), line, message: message.into() }
    }

    fn parse(mut self, text: &str) -> Result<Revision, MigrateError> {
        let mut place = Place::Header;
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = raw.trim();
            let marker = line.strip_prefix("--").map(str::trim);
            match (place, marker) {
                (_, Some("+up")) if place != Place::Header => {
                    return Err(self.error(number, "a second `-- +up` marker; a file has one up and one down section"));
                }
                (_, Some("+up")) => {
                    place = Place::Up;
                    self.up = Some(Section { sql: String::new(), first_line: number + 1 });
                }
                (Place::Header, Some("+down")) => {
                    return Err(self.error(number, "`-- +down` comes before `-- +up`; put the up section first"));
                }
                (Place::Down, Some("+down")) => return Err(self.error(number, "a second `-- +down` marker")),
                (Place::Up, Some("+down")) => {
                    place = Place::Down;
                    self.down = Some(Section { sql: String::new(), first_line: number + 1 });
                }
                (Place::Header, _) => self.header_line(number, line, marker)?,
                (_, Some("no-transaction")) => {
                    return Err(self.error(number, "`-- no-transaction` belongs in the header, above `-- +up`"));
                }
                (Place::Up | Place::Down, _) => {
                    let section = if place == Place::Up { self.up.as_mut() } else { self.down.as_mut() };
                    if let Some(section) = section {
                        section.sql.push_str(raw);
                        section.sql.push('\n');
                    }
                }
            }
        }
        self.finish(text.split('\n').count())
    }

    fn header_line(&mut self, number: usize, line: &str, comment: Option<&str>) -> Result<(), MigrateError> {
        let Some(comment) = comment else {
            if line.is_empty() {
                return Ok(());
            }
            return Err(self.error(
                number,
                "SQL above `-- +up`: a revision file starts with `-- key: value` header lines, then `-- +up`",
            ));
        };
        if comment == "no-transaction" {
            if !self.transactional {
                return Err(self.error(number, "`-- no-transaction` is repeated"));
            }
            self.transactional = false;
            return Ok(());
        }
        if let Some(marker) = comment.strip_prefix('+') {
            return Err(
                self.error(number, format!("unknown marker `-- +{marker}`; the markers are `-- +up` and `-- +down`"))
            );
        }
        let key_len = comment.bytes().take_while(|b| b.is_ascii_lowercase() || *b == b'_').count();
        if key_len == 0 || comment.as_bytes().get(key_len) != Some(&b':') {
            return Ok(()); // a comment
        }
        let (key, value) = (&comment[..key_len], comment[key_len + 1..].trim());
        let Some(key) = KEYS.iter().copied().find(|k| *k == key) else {
            return Err(self.error(number, format!("unknown header key `{key}`; the keys are {}", KEYS.join(", "))));
        };
        if let Some((_, _, first)) = self.fields.iter().find(|(k, _, _)| *k == key) {
            return Err(self.error(number, format!("`{key}` is repeated (first on line {first})")));
        }
        self.fields.push((key, value.to_owned(), number));
        Ok(())
    }

    fn field(&self, key: &str) -> Option<(&str, usize)> {
        self.fields.iter().find(|(k, _, _)| *k == key).map(|(_, v, line)| (v.as_str(), *line))
    }

    fn names(&self, key: &str) -> Result<Vec<String>, MigrateError> {
        let Some((value, line)) = self.field(key) else { return Ok(Vec::new()) };
        let mut names: Vec<String> = Vec::new();
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            valid_name(name).map_err(|message| self.error(line, format!("{key}: {message}")))?;
            if names.iter().any(|n| n == name) {
                return Err(self.error(line, format!("{key}: `{name}` is listed twice")));
            }
            names.push(name.to_owned());
        }
        Ok(names)
    }

    fn finish(self, lines: usize) -> Result<Revision, MigrateError> {
        let Some((id, line)) = self.field("revision") else {
            return Err(self.error(1, "missing `-- revision: <id>` header"));
        };
        if id.is_empty() {
            return Err(self.error(line, "`revision` is empty"));
        }
        valid_name(id).map_err(|message| self.error(line, format!("revision: {message}")))?;
        if self.field("down_revision").is_none() {
            return Err(self.error(
                1,
                "missing `-- down_revision:` header (leave it empty for a first revision, list several for a merge)",
            ));
        }
        let parents = self.names("down_revision")?;
        if parents.iter().any(|p| p == id) {
            return Err(self.error(line, format!("revision `{id}` names itself as its down_revision")));
        }
        let branch_labels = self.names("branch_labels")?;
        let Some(up) = self.up.clone() else {
            return Err(self.error(lines, "missing `-- +up` section"));
        };
        Ok(Revision {
            id: id.to_owned(),
            parents,
            branch_labels,
            message: self.field("message").map(|(m, _)| m.to_owned()).unwrap_or_default(),
            created: self.field("created").map(|(c, _)| c.to_owned()).filter(|c| !c.is_empty()),
            transactional: self.transactional,
            up,
            down: self.down,
            path: self.path,
            checksum: self.checksum,
        })
    }
}

/// What `revision` writes: the header and empty sections.
pub(crate) struct NewRevision<'a> {
    pub(crate) id: &'a str,
    pub(crate) parents: &'a [String],
    pub(crate) branch_labels: &'a [String],
    pub(crate) message: &'a str,
    pub(crate) created: &'a str,
    /// The up and down sections' SQL (empty for a new hand-written revision).
    pub(crate) up: &'a str,
    pub(crate) down: &'a str,
}

impl NewRevision<'_> {
    pub(crate) fn render(&self) -> String {
        let message = self.message.replace(['\r', '\n'], " ");
        // `-- key:` with nothing after it when empty: no trailing spaces in the file.
        let value = |v: String| if v.is_empty() { v } else { format!(" {v}") };
        format!(
            "-- revision: {}\n-- down_revision:{}\n-- branch_labels:{}\n-- message:{}\n-- created: {}\n--\n\
             -- Statements end with `;`. Add a `-- no-transaction` line to this header for statements that\n\
             -- cannot run in a transaction (CREATE INDEX CONCURRENTLY, VACUUM).\n\n-- +up\n{}\n\n-- +down\n{}\n",
            self.id,
            value(self.parents.join(", ")),
            value(self.branch_labels.join(", ")),
            value(message.trim().to_owned()),
            self.created,
            self.up.trim_end(),
            self.down.trim_end(),
        )
    }

    /// `<id>_<slug>.sql`, the slug made of the message's letters and digits.
    pub(crate) fn file_name(&self) -> String {
        let mut slug = String::new();
        for c in self.message.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('_') && !slug.is_empty() {
                slug.push('_');
            }
            if slug.len() >= 40 {
                break;
            }
        }
        let slug = slug.trim_end_matches('_');
        if slug.is_empty() { format!("{}.sql", self.id) } else { format!("{}_{slug}.sql", self.id) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "-- revision: b2\n-- down_revision: a1, a0\n-- branch_labels: feature\n-- message: add things\n-- Free text here is a comment.\n-- no-transaction\n\n-- +up\nCREATE TABLE t (x int);\n\n-- +down\nDROP TABLE t;\n";

    fn parse(text: &str) -> Result<Revision, MigrateError> {
        Revision::parse("m/x.sql", text.as_bytes())
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn header_and_sections_are_read() {
        let revision = parse(FILE).unwrap();
        assert_eq!(revision.id(), "b2");
        assert_eq!(revision.parents(), ["a1", "a0"]);
        assert_eq!(revision.branch_labels(), ["feature"]);
        assert_eq!(revision.message(), "add things");
        assert!(!revision.is_transactional());
        assert_eq!(revision.up_sql().trim(), "CREATE TABLE t (x int);");
        assert_eq!(revision.down_sql().map(str::trim), Some("DROP TABLE t;"));
        let up = revision.up_statements(Dialect::Sqlite).unwrap();
        assert_eq!(up[0].line, 9);
        assert_eq!(revision.down_statements(Dialect::Sqlite).unwrap().unwrap()[0].line, 12);
    }

    #[test]
    fn bom_and_crlf_do_not_change_the_checksum_but_edits_do() {
        let plain = parse(FILE).unwrap();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(FILE.replace('\n', "\r\n").as_bytes());
        assert_eq!(Revision::parse("m/x.sql", &bom).unwrap().checksum(), plain.checksum());
        let edited = parse(&FILE.replace("x int", "x bigint")).unwrap();
        assert_ne!(edited.checksum(), plain.checksum());
        assert_eq!(plain.checksum().len(), 64);
    }

    #[test]
    fn missing_down_section_means_irreversible() {
        let revision = parse("-- revision: a\n-- down_revision:\n-- +up\nSELECT 1;\n").unwrap();
        assert!(revision.down_sql().is_none());
        assert!(revision.parents().is_empty());
    }

    #[test]
    fn malformed_files_name_file_and_line() {
        let cases = [
            ("-- down_revision:\n-- +up\n", "m/x.sql:1: missing `-- revision"),
            ("-- revision: a\n-- +up\n", "missing `-- down_revision:`"),
            ("-- revision: a\n-- down_revision:\nSELECT 1;\n-- +up\n", "m/x.sql:3: SQL above `-- +up`"),
            ("-- revision: a\n-- down_revision:\n-- author: me\n-- +up\n", "m/x.sql:3: unknown header key `author`"),
            ("-- revision: a\n-- revision: b\n-- down_revision:\n-- +up\n", "m/x.sql:2: `revision` is repeated"),
            ("-- revision: a\n-- down_revision:\n-- +down\n", "m/x.sql:3: `-- +down` comes before"),
            ("-- revision: a\n-- down_revision:\n", "missing `-- +up` section"),
            ("-- revision: a\n-- down_revision:\n-- +up\n-- +up\n", "m/x.sql:4: a second `-- +up`"),
            ("-- revision: a-b\n-- down_revision:\n-- +up\n", "m/x.sql:1: revision: `a-b` is not a valid name"),
            ("-- revision: head\n-- down_revision:\n-- +up\n", "target word"),
            ("-- revision: a\n-- down_revision: a\n-- +up\n", "names itself"),
            ("-- revision: a\n-- down_revision: b, b\n-- +up\n", "listed twice"),
            (
                "-- revision: a\n-- down_revision:\n-- +up\n-- no-transaction\n",
                "m/x.sql:4: `-- no-transaction` belongs",
            ),
            ("-- revision: a\n-- down_revision:\n-- +sideways\n", "unknown marker"),
        ];
        for (text, expected) in cases {
            let err = error(text);
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let err = Revision::parse("m/x.sql", b"-- revision: a\xff\n").unwrap_err().to_string();
        assert!(err.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn new_revision_round_trips() {
        let parents = vec!["a1".to_owned()];
        let new = NewRevision {
            id: "c3",
            parents: &parents,
            branch_labels: &[],
            message: "Add user's table!\nnow",
            created: "2025-06-01T00:00:00Z",
            up: "",
            down: "",
        };
        assert_eq!(new.file_name(), "c3_add_user_s_table_now.sql");
        let revision = parse(&new.render()).unwrap();
        assert_eq!(revision.id(), "c3");
        assert_eq!(revision.parents(), ["a1"]);
        assert_eq!(revision.message(), "Add user's table! now");
        assert!(revision.is_transactional());
        assert!(revision.up_statements(Dialect::Postgres).unwrap().is_empty());
        assert_eq!(revision.down_statements(Dialect::Postgres).unwrap(), Some(vec![]));
    }
}
