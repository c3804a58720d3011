//! What the fuzz targets share: a text format for scripted responses, a
//! deterministic RNG, and the checks every error must pass.
//!
//! Inputs are text so that seeds can be written by hand:
//!
//! ```text
//! 400
//! Content-Type: application/json
//! Set-Cookie: a=b; Path=/
//!
//! {"error":"invalid_client"}
//! ---
//! 200
//!
//! {"access_token":"t","token_type":"Bearer"}
//! ```
//!
//! Responses are separated by a line `---`; in each, the first line is the
//! status, header lines follow up to an empty line, and the rest is the
//! body (any bytes). A response that starts with `!` stands for a request
//! that got no response at all (a network error): the driver calls
//! `Flow::transport_failed`.

use grantkit::flow::{Action, Flow};
use grantkit::http::form_urlencode;
use grantkit::{Error, HttpRequest, HttpResponse, UnixTime};
use rsa::rand_core::{CryptoRng, RngCore};

/// The time every target starts at.
pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// The separator line between scripted responses.
pub const RESPONSE_SEPARATOR: &[u8] = b"\n---\n";

/// Splits `data` at every `separator`.
pub fn split<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = find(rest, separator) {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len()..];
    }
    parts.push(rest);
    parts
}

/// The position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one scripted response (status line, headers, empty line, body).
/// A status line that is not a number gives status 200; `Set-Cookie`
/// headers go to `set_cookies`, as a driver passes them.
pub fn parse_response(data: &[u8]) -> HttpResponse {
    let (head, body) = match find(data, b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let status = lines
        .next()
        .and_then(|line| line.trim().parse::<u16>().ok())
        .unwrap_or(200);
    let mut response = HttpResponse::new(status, body.to_vec());
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        if name.eq_ignore_ascii_case("set-cookie") {
            response.set_cookies.push(value.to_owned());
        } else {
            response.headers.push((name.to_owned(), value.to_owned()));
        }
    }
    response
}

/// A deterministic RNG (xorshift64*), so that a crash input replays the
/// same way. Not for real keys: fuzzing only.
pub struct FuzzRng(u64);

impl FuzzRng {
    /// An RNG from a seed (0 is replaced: xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        FuzzRng(seed.max(1))
    }
}

impl RngCore for FuzzRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FuzzRng {}

/// Formats an error every way a caller can (`Display`, `Debug`, `code`,
/// `status`) and checks that none of the texts holds a secret, raw or
/// form-encoded (the forms the redactor has always promised to remove,
/// src/redact.rs), nor any of `exact` (credentials as sent, such as a Basic
/// header's base64). Returns the texts.
pub fn check_error(error: &Error, secrets: &[&str], exact: &[&str]) -> String {
    let text = format!("{error} | {error:?} | {} | {:?}", error.code(), error.status());
    let forms = secrets
        .iter()
        .flat_map(|secret| [secret.to_string(), form_urlencode(secret)])
        .chain(exact.iter().map(|form| form.to_string()));
    for form in forms {
        assert!(
            !text.contains(&form),
            "a secret ({form:?}) is in the error text: {text}"
        );
    }
    text
}

/// What `Authorization: Basic` carries for this client: base64 of
/// `id:secret`, each form-urlencoded (RFC 6749 §2.3.1).
pub fn basic_credentials(client_id: &str, secret: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", form_urlencode(client_id), form_urlencode(secret)))
}

/// How a scripted run of a flow ended.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The flow finished with this result.
    Done(T),
    /// The flow failed.
    Failed(Error),
    /// The flow sent a request the script has no response for.
    OutOfResponses,
    /// The flow kept asking for more after the step limit.
    StepLimit,
}

/// What answers a request in a script.
#[derive(Debug)]
pub enum Reply {
    /// A response.
    Response(HttpResponse),
    /// No response: a network error with this message.
    TransportFailure(String),
}

/// Reads one scripted reply: [`parse_response`], or a transport failure
/// when it starts with `!`. The failure's message is fixed: it comes from
/// the runtime, not the server, so it is not where a secret could come back.
pub fn parse_reply(data: &[u8]) -> Reply {
    if data.starts_with(b"!") {
        Reply::TransportFailure("connection reset (scripted)".into())
    } else {
        Reply::Response(parse_response(data))
    }
}

/// Drives `flow` as a driver does: each request is answered with the next
/// scripted reply and shown to `check_request`, a prompt is shown (never
/// empty), a wait moves the clock (never by zero). After a transport
/// failure the flow is polled once more, as a careless driver would.
pub fn drive<F: Flow>(
    flow: &mut F,
    replies: impl IntoIterator<Item = Reply>,
    mut now: UnixTime,
    mut check_request: impl FnMut(&HttpRequest),
) -> Outcome<F::Output>
where
    F::Output: std::fmt::Debug,
{
    let mut replies = replies.into_iter();
    // Bounded: a flow that never ends would hang the fuzzer.
    for _ in 0..64 {
        match flow.poll(now) {
            Ok(Action::Send(request)) => {
                check_request(&request);
                match replies.next() {
                    None => return Outcome::OutOfResponses,
                    Some(Reply::Response(response)) => {
                        if let Err(error) = flow.handle_response(response, now) {
                            return Outcome::Failed(error);
                        }
                    }
                    Some(Reply::TransportFailure(message)) => {
                        let error = flow.transport_failed(Error::Network { message });
                        let _ = flow.poll(now);
                        return Outcome::Failed(error);
                    }
                }
            }
            Ok(Action::Prompt(prompt)) => {
                assert!(!prompt.user_code.is_empty(), "an empty user code");
            }
            Ok(Action::Wait(duration)) => {
                assert!(duration.as_secs() > 0, "a zero wait would spin");
                now = now.plus_secs(duration.as_secs());
            }
            Ok(Action::Done(output)) => return Outcome::Done(output),
            Ok(other) => panic!("unexpected action {other:?}"),
            Err(error) => return Outcome::Failed(error),
        }
    }
    Outcome::StepLimit
}

/// A real 2048-bit RSA public key (the test fixture's).
pub const PUBLIC_PEM: &str = include_str!("../../tests/fixtures/rsa2048.public.pem");

/// The scripted replies of an ACP login: `data` split at `---` lines, with
/// `$PUBKEY` replaced by [`PUBLIC_PEM`] JSON-escaped and `$PUBKEY_B64` by
/// its base64, so that step 3 can succeed.
pub fn acp_replies(data: &[u8]) -> Vec<Reply> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(PUBLIC_PEM);
    let escaped = serde_json::Value::from(PUBLIC_PEM).to_string();
    let escaped = escaped.trim_matches('"');
    split(data, RESPONSE_SEPARATOR)
        .into_iter()
        .map(|reply| {
            let reply = replace(reply, b"$PUBKEY_B64", encoded.as_bytes());
            parse_reply(&replace(&reply, b"$PUBKEY", escaped.as_bytes()))
        })
        .collect()
}

/// `data` with every `from` replaced by `to`.
pub fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}
