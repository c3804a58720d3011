//! The small cookie jar the ACP session login needs (RFC 6265).
//!
//! Runtimes other than browsers let scripts read `Set-Cookie` and send
//! `Cookie`, so the core keeps the cookies itself: the jar stores what a
//! response sets (§5.2, §5.3) and builds the `Cookie` header for each
//! request (§5.4). Public-suffix checks are not made: the jar only ever
//! holds one platform's cookies for one login.

use crate::endpoint::UrlParts;
use crate::secret::Secret;
use crate::time::UnixTime;

/// `SameSite` (RFC 6265bis); stored, not enforced: every request of a flow
/// is same-site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// `Strict`
    Strict,
    /// `Lax`
    Lax,
    /// `None`
    None,
}

/// One stored cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cookie {
    /// The name.
    pub name: String,
    /// The value: a session credential, so never printed.
    pub value: Secret,
    /// The domain it is sent to.
    pub domain: String,
    /// Whether only the exact host gets it (no `Domain` attribute).
    pub host_only: bool,
    /// The path prefix it is sent for.
    pub path: String,
    /// When it expires; `None` for a session cookie.
    pub expires: Option<UnixTime>,
    /// Sent over https only.
    pub secure: bool,
    /// Not visible to scripts (recorded; the jar is not a script).
    pub http_only: bool,
    /// `SameSite`, if given.
    pub same_site: Option<SameSite>,
}

/// The cookies of one flow.
#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        CookieJar::default()
    }

    /// The stored cookies, in creation order.
    pub fn cookies(&self) -> &[Cookie] {
        &self.cookies
    }

    /// Stores the cookie of one `Set-Cookie` value received from
    /// `request_url` (RFC 6265 §5.2, §5.3). Malformed cookies are ignored,
    /// as §5.2 says.
    pub fn store(&mut self, set_cookie: &str, request_url: &str, now: UnixTime) {
        let Some(url) = RequestUrl::parse(request_url) else {
            return;
        };
        let Some(cookie) = parse_set_cookie(set_cookie, &url, now) else {
            return;
        };
        let expired = cookie.expires.is_some_and(|at| at <= now);
        // §5.3 step 11: a cookie with the same name, domain and path replaces the old one.
        self.cookies.retain(|c| {
            !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
        });
        if !expired {
            self.cookies.push(cookie);
        }
    }

    /// The `Cookie` header value for a request to `url` (RFC 6265 §5.4),
    /// or `None` when no cookie applies.
    pub fn header_for(&self, url: &str, now: UnixTime) -> Option<String> {
        let url = RequestUrl::parse(url)?;
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| {
                let host_ok = if c.host_only {
                    url.host == c.domain
                } else {
                    domain_matches(&url.host, &c.domain)
                };
                host_ok
                    && path_matches(&url.path, &c.path)
                    && (!c.secure || url.secure)
                    && c.expires.is_none_or(|at| at > now)
            })
            .collect();
        if matching.is_empty() {
            return None;
        }
        // §5.4 step 2: longer paths first; otherwise creation order (stable sort).
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let pairs: Vec<String> = matching
            .iter()
            .map(|c| format!("{}={}", c.name, c.value.expose()))
            .collect();
        Some(pairs.join("; "))
    }
}

/// The parts of a request URL the jar needs.
struct RequestUrl {
    secure: bool,
    host: String,
    path: String,
}

impl RequestUrl {
    fn parse(url: &str) -> Option<RequestUrl> {
        let parts = UrlParts::split(url)?;
        Some(RequestUrl {
            secure: parts.scheme.eq_ignore_ascii_case("https"),
            host: parts.host.to_ascii_lowercase(),
            path: if parts.path.is_empty() {
                "/".into()
            } else {
                parts.path.into()
            },
        })
    }

    /// §5.1.4: the directory of the request path.
    fn default_path(&self) -> String {
        match self.path.rsplit_once('/') {
            Some(("", _)) | None => "/".into(),
            Some((directory, _)) => directory.into(),
        }
    }
}

/// §5.2 and §5.3, for one `Set-Cookie` value.
fn parse_set_cookie(set_cookie: &str, url: &RequestUrl, now: UnixTime) -> Option<Cookie> {
    let mut parts = set_cookie.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = Cookie {
        name: name.to_owned(),
        value: Secret::new(value.trim()),
        domain: url.host.clone(),
        host_only: true,
        path: url.default_path(),
        expires: None,
        secure: false,
        http_only: false,
        same_site: None,
    };
    let mut max_age: Option<UnixTime> = None;
    let mut expires: Option<UnixTime> = None;
    for attribute in parts {
        let (key, value) = match attribute.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attribute.trim(), ""),
        };
        match key.to_ascii_lowercase().as_str() {
            "expires" => expires = parse_cookie_date(value).or(expires),
            "max-age" => {
                // §5.2.2: a leading "-" or digits, then digits only.
                let valid = value
                    .chars()
                    .enumerate()
                    .all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '-'))
                    && value.chars().any(|c| c.is_ascii_digit());
                if valid {
                    max_age = Some(match value.parse::<i64>() {
                        Ok(secs) if secs > 0 => now.plus_secs(secs as u64),
                        Ok(_) => UnixTime::from_secs(0),
                        Err(_) if value.starts_with('-') => UnixTime::from_secs(0),
                        Err(_) => now.plus_secs(u64::MAX),
                    });
                }
            }
            "domain" if !value.is_empty() => {
                let domain = value.trim_start_matches('.').to_ascii_lowercase();
                // §5.3 step 6: the request host must domain-match it.
                if !domain_matches(&url.host, &domain) {
                    return None;
                }
                cookie.domain = domain;
                cookie.host_only = false;
            }
            "path" if value.starts_with('/') => cookie.path = value.to_owned(),
            "secure" => cookie.secure = true,
            "httponly" => cookie.http_only = true,
            "samesite" => {
                cookie.same_site = match value.to_ascii_lowercase().as_str() {
                    "strict" => Some(SameSite::Strict),
                    "lax" => Some(SameSite::Lax),
                    "none" => Some(SameSite::None),
                    _ => cookie.same_site,
                }
            }
            _ => {}
        }
    }
    // §5.3 step 3: Max-Age has precedence over Expires.
    cookie.expires = max_age.or(expires);
    Some(cookie)
}

/// §5.1.3 domain matching.
fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || (host.ends_with(domain)
            && host.as_bytes().get(host.len() - domain.len() - 1) == Some(&b'.')
            && host.parse::<std::net::IpAddr>().is_err())
}

/// §5.1.4 path matching.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// §5.1.1: the cookie-date algorithm (`Wed, 21 Oct 2026 07:28:00 GMT` and
/// its variants).
fn parse_cookie_date(text: &str) -> Option<UnixTime> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let is_delimiter = |c: char| {
        c == '\t'
            || (' '..='/').contains(&c)
            || (';'..='@').contains(&c)
            || ('['..='`').contains(&c)
            || ('{'..='~').contains(&c)
    };
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in text.split(is_delimiter).filter(|t| !t.is_empty()) {
        let leading_digits = |t: &str, min: usize, max: usize| {
            let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
            (min..=max)
                .contains(&digits.len())
                .then(|| digits.parse::<u64>().ok())
                .flatten()
        };
        if time.is_none() {
            let fields: Vec<&str> = token.split(':').collect();
            if let [h, m, s] = fields.as_slice() {
                let hms = (
                    leading_digits(h, 1, 2),
                    leading_digits(m, 1, 2),
                    leading_digits(s, 1, 2),
                );
                if let (Some(h), Some(m), Some(s)) = hms {
                    time = Some((h, m, s));
                    continue;
                }
            }
        }
        if day.is_none() {
            if let Some(d) = leading_digits(token, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        // §5.1.1: month-token = 3( ALPHA ) *OCTET; `get` is None when the
        // third byte is inside a multi-byte character (`ééa`).
        if let (None, Some(prefix)) = (month, token.get(..3)) {
            if let Some(m) = MONTHS.iter().position(|m| prefix.eq_ignore_ascii_case(m)) {
                month = Some(m as u64 + 1);
                continue;
            }
        }
        if year.is_none() {
            if let Some(y) = leading_digits(token, 2, 4) {
                year = Some(y);
                continue;
            }
        }
    }
    let (hour, minute, second) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
    Some(UnixTime::from_secs(secs.max(0) as u64))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: u64, day: u64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
