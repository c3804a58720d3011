//! A synchronous driver for tests: scripted responses instead of a network.
#![allow(dead_code)]

use grantkit::flow::{Action, Flow};
use grantkit::{Error, HttpRequest, HttpResponse, UnixTime};
use rsa::rand_core::{CryptoRng, RngCore};

pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// Runs `flow` to its end, answering each request with the next scripted
/// response; returns the requests sent and the result.
pub fn drive<F: Flow>(
    mut flow: F,
    responses: Vec<HttpResponse>,
) -> (Vec<HttpRequest>, Result<F::Output, Error>)
where
    F::Output: std::fmt::Debug,
{
    let mut responses = responses.into_iter();
    let mut sent = Vec::new();
    loop {
        match flow.poll(NOW) {
            Ok(Action::Send(request)) => {
                sent.push(request);
                let response = responses
                    .next()
                    .expect("the flow sent more requests than the script answers");
                if let Err(e) = flow.handle_response(response, NOW) {
                    return (sent, Err(e));
                }
            }
            Ok(Action::Sign(request)) => {
                // OsRng: blinding needs real randomness (TestRng repeats every
                // 256 bytes, so rejection-sampling a 2048-bit value never ends).
                let signature = grantkit::crypto::sign(
                    &request.key,
                    request.alg,
                    &request.message,
                    &mut rsa::rand_core::OsRng,
                );
                if let Err(e) = flow.handle_signature(signature) {
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
            Ok(other) => panic!("unexpected action {other:?}"),
            Err(e) => return (sent, Err(e)),
        }
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
