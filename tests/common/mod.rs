//! A synchronous driver for tests: scripted responses instead of a network.
#![allow(dead_code)]

use grantkit::flow::{Action, Flow};
use grantkit::{Error, HttpRequest, HttpResponse, UnixTime};
use rsa::rand_core::{CryptoRng, RngCore};

pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// Runs `flow` to its end, answering each request with the next scripted
/// response; returns the requests sent and the result. An
/// [`Action::Discover`] is answered as a driver without a cache would: the
/// discovery flow runs on the same script, its requests in order with the
/// flow's.
pub fn drive<F: Flow>(
    flow: F,
    responses: Vec<HttpResponse>,
) -> (Vec<HttpRequest>, Result<F::Output, Error>)
where
    F::Output: std::fmt::Debug,
{
    drive_with(flow, responses, None)
}

/// [`drive`], with `prover` making the DPoP proofs the flow asks for (and
/// taking note of each response's nonce, as the driver does).
pub fn drive_with<F: Flow>(
    mut flow: F,
    responses: Vec<HttpResponse>,
    mut prover: Option<&mut Prover>,
) -> (Vec<HttpRequest>, Result<F::Output, Error>)
where
    F::Output: std::fmt::Debug,
{
    let mut responses = responses.into_iter();
    let mut sent = Vec::new();
    loop {
        match flow.poll(NOW) {
            Ok(Action::Send(request)) => {
                let response = responses
                    .next()
                    .expect("the flow sent more requests than the script answers");
                if let Some(prover) = prover.as_deref_mut() {
                    prover.session.observe(&request.url, &response);
                }
                sent.push(request);
                if let Err(e) = flow.handle_response(response, NOW) {
                    return (sent, Err(e));
                }
            }
            Ok(Action::Discover(request)) => {
                let mut discovery = request.start();
                let metadata = loop {
                    match discovery.poll(NOW) {
                        Ok(Action::Send(request)) => {
                            let response = responses
                                .next()
                                .expect("the discovery sent more requests than the script answers");
                            sent.push(request);
                            if let Err(e) = discovery.handle_response(response, NOW) {
                                break Err(e);
                            }
                        }
                        Ok(Action::Done(metadata)) => break Ok(metadata),
                        Ok(other) => panic!("unexpected discovery action {other:?}"),
                        Err(e) => break Err(e),
                    }
                };
                let handled = metadata.and_then(|m| flow.handle_metadata(std::sync::Arc::new(m)));
                if let Err(e) = handled {
                    return (sent, Err(e));
                }
            }
            Ok(Action::Prove(request)) => {
                let prover = prover
                    .as_deref_mut()
                    .expect("the flow asked for a DPoP proof without dpop");
                if let Err(e) = flow.handle_proof(prover.prove(&request)) {
                    return (sent, Err(e));
                }
            }
            Ok(Action::Sign(request)) => {
                if let Err(e) = sign(&mut flow, &request) {
                    return (sent, Err(e));
                }
            }
            Ok(Action::Verify(request)) => {
                if let Err(e) = flow.handle_verification(verify(&request)) {
                    return (sent, Err(e));
                }
            }
            Ok(Action::Done(output)) => {
                assert!(
                    responses.next().is_none(),
                    "the flow finished before the script did"
                );
                return (sent, Ok(output));
            }
            // The clock stands still: a wait is over at once, a prompt seen.
            Ok(Action::Wait(_)) | Ok(Action::Prompt(_)) => {}
            Ok(other) => panic!("unexpected action {other:?}"),
            Err(e) => return (sent, Err(e)),
        }
    }
}

/// Signs what the flow asks for and hands the signature back. OsRng:
/// blinding needs real randomness (TestRng repeats every 256 bytes, so
/// rejection-sampling a 2048-bit value never ends).
pub fn sign<F: Flow>(flow: &mut F, request: &grantkit::flow::SignRequest) -> Result<(), Error> {
    let signature = grantkit::crypto::sign(
        &request.key,
        request.alg,
        &request.message,
        &mut rsa::rand_core::OsRng,
    );
    flow.handle_signature(signature)
}

/// Verifies what the flow asks for with implementations independent of
/// grantkit: the `rsa` crate for RS256, `p256` for ES256.
pub fn verify(request: &grantkit::flow::VerifyRequest) -> bool {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let member = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(request.jwk[name].as_str().expect("a string member"))
            .expect("base64url")
    };
    match request.alg {
        grantkit::id_token::VerifyAlgorithm::Rs256 => {
            use rsa::signature::Verifier;
            let key = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&member("n")),
                rsa::BigUint::from_bytes_be(&member("e")),
            )
            .expect("an RSA public key");
            let key = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key);
            let Ok(signature) = rsa::pkcs1v15::Signature::try_from(request.signature.as_slice())
            else {
                return false;
            };
            key.verify(&request.message, &signature).is_ok()
        }
        grantkit::id_token::VerifyAlgorithm::Es256 => {
            use p256::ecdsa::signature::Verifier;
            let mut point = vec![4u8];
            point.extend(member("x"));
            point.extend(member("y"));
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("a P-256 key");
            let Ok(signature) = p256::ecdsa::Signature::from_slice(&request.signature) else {
                return false;
            };
            key.verify(&request.message, &signature).is_ok()
        }
    }
}

/// The driver's DPoP part, with a P-256 key of the `p256` crate (an ES256
/// implementation independent of grantkit) where the wasm driver has a
/// WebCrypto key.
pub struct Prover {
    pub signing: p256::ecdsa::SigningKey,
    pub session: grantkit::dpop::DpopSession,
}

impl Prover {
    /// A prover with the key whose scalar is `seed` repeated.
    pub fn new(seed: u8) -> Self {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let signing = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("a P-256 scalar");
        let point = signing.verifying_key().to_encoded_point(false);
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        });
        let key = grantkit::dpop::DpopPublicKey::from_jwk(jwk.as_object().unwrap()).unwrap();
        Prover {
            signing,
            session: grantkit::dpop::DpopSession::new(key),
        }
    }

    /// The compact proof for `request`.
    pub fn prove(&mut self, request: &grantkit::dpop::ProofRequest) -> String {
        use p256::ecdsa::signature::Signer;
        let input = self
            .session
            .signing_input(request, NOW, &mut rsa::rand_core::OsRng);
        let signature: p256::ecdsa::Signature = self.signing.sign(input.as_bytes());
        grantkit::jwt::compact(&input, &signature.to_bytes())
    }

    /// Verifies `proof` with the public key in its own header (as a server
    /// does), checks that key is this prover's, and returns its claims.
    pub fn verify(&self, proof: &str) -> serde_json::Value {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use p256::ecdsa::signature::Verifier;
        let decode = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let (input, signature) = proof.rsplit_once('.').expect("a JWS");
        let (header, claims) = input.split_once('.').expect("a JWS");
        let header = decode(header);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        let member = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(header["jwk"][name].as_str().unwrap())
                .unwrap()
        };
        let mut sec1 = vec![4u8];
        sec1.extend(member("x"));
        sec1.extend(member("y"));
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        assert_eq!(
            &key,
            self.signing.verifying_key(),
            "the proof names another key"
        );
        let signature =
            p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap())
                .unwrap();
        key.verify(input.as_bytes(), &signature)
            .expect("the proof verifies");
        decode(claims)
    }
}

pub fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status, body).with_header("Content-Type", "application/json")
}

/// The headers of a request as (name, value) string pairs.
pub fn headers(request: &HttpRequest) -> Vec<(&str, &str)> {
    request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// A deterministic RNG for the `jti` of assertions in tests: bytes 0, 1,
/// 2, ... (so the first jti is base64url(00 01 .. 0f) =
/// "AAECAwQFBgcICQoLDA0ODw"). Never use it for signing: its period is 256
/// bytes, so RSA blinding's rejection sampling of a 2048-bit value loops.
#[derive(Default)]
pub struct TestRng(u8);

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            *byte = self.0;
            self.0 = self.0.wrapping_add(1);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for TestRng {}

/// What a timed driver did, in order.
#[derive(Debug)]
pub enum Event {
    /// A request went out at this time (seconds after the start).
    Sent(u64, HttpRequest),
    /// The flow asked to wait this many seconds.
    Waited(u64),
    /// The flow asked to show this prompt.
    Prompted(grantkit::flow::DevicePrompt),
}

/// How a timed run ended.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Failed(Error),
    /// The driver stopped after `abort_after_waits` waits, as an aborted
    /// driver does.
    Aborted,
}

/// Runs `flow` with a simulated clock that starts at [`NOW`]: each
/// `Action::Wait` moves the clock on by its duration. Signs with OsRng.
pub fn drive_timed<F: Flow>(
    flow: &mut F,
    responses: Vec<HttpResponse>,
    abort_after_waits: Option<usize>,
) -> (Vec<Event>, Outcome<F::Output>)
where
    F::Output: std::fmt::Debug,
{
    let mut responses = responses.into_iter();
    let mut events = Vec::new();
    let mut now = NOW;
    let mut waits = 0;
    loop {
        let action = match flow.poll(now) {
            Ok(action) => action,
            Err(e) => return (events, Outcome::Failed(e)),
        };
        match action {
            Action::Send(request) => {
                events.push(Event::Sent(now.as_secs() - NOW.as_secs(), request));
                let response = responses
                    .next()
                    .expect("the flow sent more requests than the script answers");
                if let Err(e) = flow.handle_response(response, now) {
                    return (events, Outcome::Failed(e));
                }
            }
            Action::Sign(request) => {
                if let Err(e) = sign(flow, &request) {
                    return (events, Outcome::Failed(e));
                }
            }
            Action::Wait(duration) => {
                events.push(Event::Waited(duration.as_secs()));
                waits += 1;
                if abort_after_waits == Some(waits) {
                    return (events, Outcome::Aborted);
                }
                now = now.plus_secs(duration.as_secs());
            }
            Action::Prompt(prompt) => events.push(Event::Prompted(prompt)),
            Action::Done(output) => {
                assert!(
                    responses.next().is_none(),
                    "the flow finished before the script did"
                );
                return (events, Outcome::Done(output));
            }
            other => panic!("unexpected action {other:?}"),
        }
    }
}

/// The requests among `events`, with the time each went out.
pub fn sent(events: &[Event]) -> Vec<(u64, &HttpRequest)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Sent(at, request) => Some((*at, request)),
            _ => None,
        })
        .collect()
}

/// The waits among `events`.
pub fn waits(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Waited(secs) => Some(*secs),
            _ => None,
        })
        .collect()
}

/// The raw (still form-encoded) value of a form parameter of a request.
pub fn param<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
    request
        .body_text()
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {}", request.body_text()))
}
