//! Pagination with Flask-SQLAlchemy's semantics, plus keyset pagination for large tables.

use axum::extract::{FromRef, FromRequestParts};
use base64::Engine as _;
use http::request::Parts;
use phial_core::axum;
use sea_query::{Asterisk, Expr, Order};
use serde::Serialize;

use crate::databases::Databases;
use crate::db::{Db, IntoSelect};
use crate::error::SqlError;
use crate::row::FromDbRow;

/// Which page to show, read from `?page=&per_page=` (Flask-SQLAlchemy's `paginate()`
/// arguments).
///
/// `per_page` is capped at `max_per_page` (default 100) on every path: when read from the
/// request, when built with [`new`](Self::new), and for [`next`](Self::next) and
/// [`prev`](Self::prev). With `error_out` (the default), a `page` or `per_page` that is not a
/// positive integer is a 404, as is a page past the last; without it they are clamped.
///
/// # Examples
///
/// ```
/// use phial_sql::PageRequest;
///
/// let request = PageRequest::from_query(Some("page=3&per_page=100000"), 20, 100, true)?;
/// assert_eq!((request.page, request.per_page), (3, 100));
/// assert!(PageRequest::from_query(Some("page=0"), 20, 100, true).is_err());
/// assert_eq!(PageRequest::from_query(Some("page=abc"), 20, 100, false)?.page, 1);
/// # Ok::<(), phial_sql::SqlError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageRequest {
    /// The 1-based page number.
    pub page: u64,
    /// Items per page, already capped.
    pub per_page: u64,
    /// The cap on `per_page`.
    pub max_per_page: u64,
    /// 404 for bad or out-of-range pages (else clamp).
    pub error_out: bool,
    /// Count the total (one more query); without it, `has_next` comes from one extra row.
    pub count: bool,
}

impl PageRequest {
    /// Page `page` of `per_page` items, with the default cap of 100 and `error_out`.
    pub fn new(page: u64, per_page: u64) -> Self {
        let max_per_page = 100;
        Self {
            page: Ord::max(page, 1),
            per_page: Ord::clamp(per_page, 1, max_per_page),
            max_per_page,
            error_out: true,
            count: true,
        }
    }

    /// Reads `page` and `per_page` from a query string.
    ///
    /// # Errors
    ///
    /// [`SqlError::NotFound`] for a bad value when `error_out` is on.
    pub fn from_query(
        query: Option<&str>,
        per_page: u64,
        max_per_page: u64,
        error_out: bool,
    ) -> Result<Self, SqlError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let read = |name: &str, default: u64| -> Result<u64, SqlError> {
            match pairs.iter().rev().find(|(k, _)| k == name) {
                None => Ok(default),
                Some((_, value)) => match value.trim().parse::<i64>() {
                    Ok(n) if n >= 1 => Ok(n.unsigned_abs()),
                    _ if error_out => Err(SqlError::not_found(None)),
                    _ => Ok(default),
                },
            }
        };
        let page = read("page", 1)?;
        let per_page = read("per_page", per_page.max(1))?.min(max_per_page.max(1));
        Ok(Self { page, per_page, max_per_page: max_per_page.max(1), error_out, count: true })
    }

    /// Skips the count query; [`Page::total`] and [`Page::pages`] are then unknown.
    #[must_use]
    pub fn without_count(mut self) -> Self {
        self.count = false;
        self
    }

    /// The request for the next page (same size, same cap).
    #[must_use]
    pub fn next(&self) -> Self {
        Self { page: self.page + 1, per_page: self.per_page.min(self.max_per_page), ..*self }
    }

    /// The request for the previous page (page 1 stays page 1).
    #[must_use]
    pub fn prev(&self) -> Self {
        Self { page: self.page.saturating_sub(1).max(1), per_page: self.per_page.min(self.max_per_page), ..*self }
    }

    fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

impl<S> FromRequestParts<S> for PageRequest
where
    Databases: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = SqlError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, SqlError> {
        let databases = Databases::from_ref(state);
        let config = databases.config();
        Self::from_query(parts.uri.query(), config.per_page, config.max_per_page, config.error_out)
    }
}

/// One page of results: Flask-SQLAlchemy's `Pagination`.
///
/// # Examples
///
/// ```
/// use phial_sql::Page;
///
/// let page = Page::from_parts(Vec::<u32>::new(), 7, 20, Some(450), false);
/// assert_eq!((page.first(), page.last()), (121, 120)); // no items: last = first - 1
/// assert_eq!(page.pages(), Some(23));
/// let numbers: Vec<String> = page
///     .iter_pages(2, 2, 4, 2)
///     .into_iter()
///     .map(|n| n.map_or("…".to_owned(), |n| n.to_string()))
///     .collect();
/// assert_eq!(numbers.join(" "), "1 2 … 5 6 7 8 9 10 11 … 22 23");
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// The 1-based page number.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
    /// All matching rows; `None` when counting was skipped.
    pub total: Option<u64>,
    #[serde(skip)]
    more: bool,
}

impl<T> Page<T> {
    /// Builds a page from its parts; `more` says whether rows follow (used without a count).
    pub fn from_parts(items: Vec<T>, page: u64, per_page: u64, total: Option<u64>, more: bool) -> Self {
        Self { items, page, per_page, total, more }
    }

    /// The number of pages (`Some(0)` for no rows); `None` without a count.
    pub fn pages(&self) -> Option<u64> {
        let total = self.total?;
        Some(if self.per_page == 0 || total == 0 { 0 } else { total.div_ceil(self.per_page) })
    }

    /// Whether a previous page exists.
    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    /// Whether a next page exists.
    pub fn has_next(&self) -> bool {
        match self.pages() {
            Some(pages) => self.page < pages,
            None => self.more,
        }
    }

    /// The previous page number, if any.
    pub fn prev_num(&self) -> Option<u64> {
        self.has_prev().then(|| self.page - 1)
    }

    /// The next page number, if any.
    pub fn next_num(&self) -> Option<u64> {
        self.has_next().then(|| self.page + 1)
    }

    /// The 1-based number of the first item on this page (0 when there are no rows at all).
    pub fn first(&self) -> u64 {
        if self.total == Some(0) { 0 } else { (self.page - 1) * self.per_page + 1 }
    }

    /// The 1-based number of the last item on this page.
    pub fn last(&self) -> u64 {
        if self.total == Some(0) { 0 } else { (self.first() + self.items.len() as u64).saturating_sub(1) }
    }

    /// Page numbers for a pager, `None` marking a gap: Flask-SQLAlchemy's `iter_pages` with
    /// its defaults `(2, 2, 4, 2)`. Without a count the last page known to exist (this one, or
    /// the next when there is more) stands for the last page: the list is never longer than
    /// the edges and the window around the current page, whatever `?page=` asked for.
    pub fn iter_pages(
        &self,
        left_edge: u64,
        left_current: u64,
        right_current: u64,
        right_edge: u64,
    ) -> Vec<Option<u64>> {
        let pages = self.pages().unwrap_or(if self.more { self.page + 1 } else { self.page });
        let mut out = Vec::new();
        let pages_end = pages + 1;
        if pages_end == 1 {
            return out;
        }
        let left_end = (1 + left_edge).min(pages_end);
        out.extend((1..left_end).map(Some));
        if left_end == pages_end {
            return out;
        }
        let mid_start = left_end.max(self.page.saturating_sub(left_current));
        let mid_end = (self.page + right_current + 1).min(pages_end);
        if mid_start > left_end {
            out.push(None);
        }
        out.extend((mid_start..mid_end).map(Some));
        if mid_end == pages_end {
            return out;
        }
        let right_start = mid_end.max(pages_end.saturating_sub(right_edge));
        if right_start > mid_end {
            out.push(None);
        }
        out.extend((right_start..pages_end).map(Some));
        out
    }
}

impl Db {
    /// Runs `select` for one page: Flask-SQLAlchemy's `db.paginate(select, ...)`.
    ///
    /// Counts the total with `SELECT COUNT(*)` over the same query unless the request is
    /// [`without_count`](PageRequest::without_count). A page past the last is a 404 with
    /// `error_out`; page 1 of an empty result is an empty page.
    ///
    /// # Errors
    ///
    /// [`SqlError::NotFound`] for an out-of-range page with `error_out`, or a database error.
    pub async fn paginate<'a, T: FromDbRow>(
        &self,
        select: impl IntoSelect<'a>,
        request: &PageRequest,
    ) -> Result<Page<T>, SqlError> {
        // Scoped: `ExprTrait` adds `max`/`min` to every type, which would shadow `Ord`'s.
        use sea_query::ExprTrait as _;
        let select = select.into_select();
        let total = if request.count {
            let mut inner = select.as_ref().clone();
            inner.clear_order_by();
            let count = sea_query::Query::select()
                .expr(Expr::col(Asterisk).count())
                .from_subquery(inner, "phial_count")
                .to_owned();
            let total: i64 = self.fetch_scalar(&count).await?;
            Some(total.unsigned_abs())
        } else {
            None
        };
        let mut request = *request;
        if let Some(total) = total {
            let pages = if total == 0 { 1 } else { total.div_ceil(request.per_page) };
            if request.page > pages {
                if request.error_out {
                    return Err(SqlError::not_found(None));
                }
                request.page = pages;
            }
        }
        let extra = u64::from(!request.count);
        let mut query = select.into_owned();
        query.limit(request.per_page + extra).offset(request.offset());
        let mut items: Vec<T> = self.fetch_all(&query).await?;
        let more = usize::try_from(request.per_page).is_ok_and(|per_page| items.len() > per_page);
        if more {
            items.truncate(usize::try_from(request.per_page).unwrap_or(usize::MAX));
        }
        if items.is_empty() && request.page > 1 && request.error_out {
            return Err(SqlError::not_found(None));
        }
        Ok(Page::from_parts(items, request.page, request.per_page, total, more))
    }

    /// Keyset pagination over the integer column `key` (unique and indexed), for tables too
    /// large for `OFFSET`: each page starts after the last key of the one before, passed as an
    /// opaque cursor.
    ///
    /// # Errors
    ///
    /// [`SqlError::NotFound`] for a malformed cursor, or a database error.
    pub async fn paginate_keyset<'a, T: FromDbRow + Keyed>(
        &self,
        select: impl IntoSelect<'a>,
        key: &'static str,
        request: &KeysetRequest,
    ) -> Result<KeysetPage<T>, SqlError> {
        use sea_query::ExprTrait as _;
        let mut query = select.into_select().into_owned();
        if let Some(after) = request.after()? {
            query.and_where(match request.order {
                Order::Desc => Expr::col(key).lt(after),
                _ => Expr::col(key).gt(after),
            });
        }
        query.clear_order_by();
        query.order_by(key, request.order.clone()).limit(request.per_page + 1);
        let mut items: Vec<T> = self.fetch_all(&query).await?;
        let more = usize::try_from(request.per_page).is_ok_and(|per_page| items.len() > per_page);
        if more {
            items.truncate(usize::try_from(request.per_page).unwrap_or(usize::MAX));
        }
        let next_cursor = if more { items.last().map(|item| encode_cursor(item.key())) } else { None };
        Ok(KeysetPage { items, next_cursor })
    }
}

/// A row with an integer key, for [`Db::paginate_keyset`].
pub trait Keyed {
    /// The value of the key column.
    fn key(&self) -> i64;
}

/// Which keyset page to show: `?cursor=` from the previous page, and a page size.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeysetRequest {
    /// The cursor of the previous page (`None` for the first page).
    pub cursor: Option<String>,
    /// Items per page (capped like [`PageRequest`]).
    pub per_page: u64,
    /// Ascending or descending by key.
    pub order: Order,
}

impl KeysetRequest {
    /// The first page, `per_page` items (capped at 100), ascending.
    pub fn first(per_page: u64) -> Self {
        Self { cursor: None, per_page: per_page.clamp(1, 100), order: Order::Asc }
    }

    /// The page after `cursor`.
    #[must_use]
    pub fn after_cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Newest first.
    #[must_use]
    pub fn descending(mut self) -> Self {
        self.order = Order::Desc;
        self
    }

    fn after(&self) -> Result<Option<i64>, SqlError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

/// One keyset page and the cursor of the next one.
#[derive(Debug, Clone, Serialize)]
pub struct KeysetPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

fn encode_cursor(key: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("k{key}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, SqlError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix('k').and_then(|n| n.parse().ok()))
        .ok_or_else(|| SqlError::not_found(Some("Invalid cursor.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pager(page: &Page<()>) -> String {
        page.iter_pages(2, 2, 4, 2)
            .into_iter()
            .map(|n| n.map_or("…".to_owned(), |n| n.to_string()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn numbers_match_flask_sqlalchemy() {
        let page = Page::from_parts(vec![(); 20], 7, 20, Some(450), false);
        assert_eq!(page.pages(), Some(23));
        assert_eq!((page.first(), page.last()), (121, 140));
        assert_eq!((page.prev_num(), page.next_num()), (Some(6), Some(8)));
        assert_eq!(pager(&page), "1 2 … 5 6 7 8 9 10 11 … 22 23");
        assert_eq!(pager(&Page::from_parts(vec![(); 20], 1, 20, Some(450), false)), "1 2 3 4 5 … 22 23");
        assert_eq!(pager(&Page::from_parts(vec![(); 10], 23, 20, Some(450), false)), "1 2 … 21 22 23");
        assert_eq!(pager(&Page::from_parts(vec![(); 20], 2, 20, Some(60), false)), "1 2 3");
    }

    #[test]
    fn without_a_count_the_pager_stays_short_for_any_page() {
        // A client's `?page=` (up to `u64::MAX` without `error_out`) once gave a list of
        // every page up to it: gigabytes for one request.
        let p = 1_u64 << 40;
        assert_eq!(pager(&Page::from_parts(vec![(); 0], p, 20, None, false)), format!("1 2 … {} {} {p}", p - 2, p - 1));
        let middle = Page::from_parts(vec![(); 20], 7, 20, None, true);
        assert_eq!(pager(&middle), "1 2 … 5 6 7 8");
        assert_eq!(pager(&Page::from_parts(vec![(); 20], 1, 20, None, true)), "1 2");
    }

    #[test]
    fn empty_result_has_zero_pages() {
        let page = Page::<()>::from_parts(vec![], 1, 20, Some(0), false);
        assert_eq!(page.pages(), Some(0));
        assert!(!page.has_next() && !page.has_prev());
        assert_eq!((page.first(), page.last()), (0, 0));
        assert!(page.iter_pages(2, 2, 4, 2).is_empty());
    }

    #[test]
    fn per_page_is_capped_on_every_path() {
        let request = PageRequest::from_query(Some("per_page=100000"), 20, 100, true).unwrap();
        assert_eq!(request.per_page, 100);
        assert_eq!(request.next().per_page, 100);
        assert_eq!(request.prev().per_page, 100);
        assert_eq!(PageRequest::new(1, 5000).per_page, 100);
    }

    #[test]
    fn bad_values_are_404_with_error_out_and_clamped_without() {
        for bad in ["page=0", "page=-3", "page=x", "per_page=0", "per_page=abc"] {
            assert!(PageRequest::from_query(Some(bad), 20, 100, true).is_err(), "{bad}");
            let lenient = PageRequest::from_query(Some(bad), 20, 100, false).unwrap();
            assert!(lenient.page >= 1 && (1..=100).contains(&lenient.per_page), "{bad}");
        }
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(-42)).unwrap(), -42);
        assert!(decode_cursor("not a cursor").is_err());
    }
}
