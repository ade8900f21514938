//! Tracking tokens: what an impression (billing) or click URL carries, signed so that nobody but
//! servingd can make one or change one.
//!
//! A token is `base64url(payload ‖ tag)`. The payload holds a format version, the id of the key
//! that signed it, the event kind, the billing model, whether the request was a test, the
//! auction, campaign, lease and supply partner ids, the clearing price, the expiry, hashes of the bid request's device and network (for the fraud
//! checks) and the impression id; the tag is HMAC-SHA256 over the payload and
//! whatever the URL binds to it (a click URL's landing page, so the redirect cannot be changed
//! either). Keys have one-byte ids: a new key signs while the old ones still verify, until they
//! are dropped from the configuration.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use daemon::keyring::KeyRing;
use events::{Billing, EventKind};
use ring::hmac;
use uuid::Uuid;

/// Version 2 added the partner and the test flag; tokens of version 1 (sold to anyone who
/// asked) are refused.
const VERSION: u8 = 2;
/// Everything before the impression id.
const FIXED: usize = 5 + 16 * 4 + 8 * 4 + 1;
/// The flag bit of a test request's token.
const TEST_FLAG: u8 = 1;
const TAG: usize = 32;
/// Longest impression id a token carries, bytes (OpenRTB's are short; the parser refuses
/// longer ones).
pub const MAX_SLOT_ID: usize = 64;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub kind: EventKind,
    pub auction: Uuid,
    /// The impression (slot) id of the request.
    pub slot: String,
    pub campaign: Uuid,
    pub lease: Uuid,
    /// The supply partner the ad was sold to (its rules are checked when the event arrives).
    pub partner: Uuid,
    /// The bid request said `test: 1`: its events are recorded as test traffic, never billed.
    pub test: bool,
    pub billing: Billing,
    /// The clearing price in the campaign's currency, micros: per thousand impressions or per
    /// click, as `billing` says.
    pub price_micros: i64,
    /// Unix seconds after which the token is refused.
    pub expires_at: i64,
    /// A hash of the bid request's device id (0: none), for the per-device fraud windows.
    pub device: u64,
    /// A hash of the bid request's network (its address's /24, or /48 for IPv6; 0: none): an
    /// event from another network is a fraud signal.
    pub network: u64,
}

impl TokenClaims {
    /// The served ad's event id: `<auction>:<impression id>`.
    pub fn event_id(&self) -> String {
        format!("{}:{}", self.auction, self.slot)
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not one of ours (malformed)")]
    Malformed,
    #[error("the token was signed with key {0}, which is not configured")]
    UnknownKey(u8),
    #[error("the token's signature does not match its content")]
    Forged,
    #[error("the token is for a {0}, not this event")]
    WrongKind(EventKind),
    #[error("the token expired at {0}")]
    Expired(i64),
}

pub use daemon::keyring::{KeyError, MIN_KEY_BYTES};

/// The keys tokens are signed and verified with.
#[derive(Debug)]
pub struct TrackingKeys(KeyRing);

impl From<KeyRing> for TrackingKeys {
    fn from(ring: KeyRing) -> Self {
        TrackingKeys(ring)
    }
}

impl TrackingKeys {
    /// Keys by id; `signing` signs new tokens, every key verifies.
    pub fn new(signing: u8, keys: Vec<(u8, Vec<u8>)>) -> Result<Self, KeyError> {
        KeyRing::new(signing, keys).map(TrackingKeys)
    }

    /// Keys from configuration: `ID:KEY,ID:KEY` with each key in base64 (url-safe or standard);
    /// `signing` names the key that signs, the highest id when `None`.
    pub fn parse(spec: &str, signing: Option<u8>) -> Result<Self, KeyError> {
        KeyRing::parse(spec, signing).map(TrackingKeys)
    }

    /// One fresh random key (id 0), for development: tokens die with the process.
    pub fn generated() -> Self {
        TrackingKeys(KeyRing::generated())
    }

    /// The id of the key that signs.
    pub fn signing_id(&self) -> u8 {
        self.0.signing_id()
    }

    /// A token for `claims`, bound to `bound` (empty for impressions; the landing URL for
    /// clicks). An impression id longer than [`MAX_SLOT_ID`] is cut (the caller checks first).
    pub fn sign(&self, claims: &TokenClaims, bound: &[u8]) -> String {
        let slot = &claims.slot.as_bytes()[..claims.slot.len().min(MAX_SLOT_ID)];
        let mut bytes = Vec::with_capacity(FIXED + slot.len() + TAG);
        bytes.extend_from_slice(&[
            VERSION,
            self.0.signing_id(),
            kind_byte(claims.kind),
            billing_byte(claims.billing),
            if claims.test { TEST_FLAG } else { 0 },
        ]);
        bytes.extend_from_slice(claims.auction.as_bytes());
        bytes.extend_from_slice(claims.campaign.as_bytes());
        bytes.extend_from_slice(claims.lease.as_bytes());
        bytes.extend_from_slice(claims.partner.as_bytes());
        bytes.extend_from_slice(&claims.price_micros.to_be_bytes());
        bytes.extend_from_slice(&claims.expires_at.to_be_bytes());
        bytes.extend_from_slice(&claims.device.to_be_bytes());
        bytes.extend_from_slice(&claims.network.to_be_bytes());
        bytes.push(slot.len() as u8);
        bytes.extend_from_slice(slot);
        let mut ctx = hmac::Context::with_key(self.0.signing_key());
        ctx.update(&bytes);
        ctx.update(bound);
        let tag = ctx.sign();
        bytes.extend_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The claims of a token presented for a `kind` event at `now_s` (Unix seconds), bound to
    /// `bound`; refused when it is malformed, signed by an unknown key, altered or forged, for
    /// another kind of event, or expired.
    pub fn verify(
        &self,
        token: &str,
        kind: EventKind,
        bound: &[u8],
        now_s: i64,
    ) -> Result<TokenClaims, TokenError> {
        if token.len() > 4 * (FIXED + MAX_SLOT_ID + TAG) / 3 + 4 {
            return Err(TokenError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() < FIXED + TAG || bytes[0] != VERSION {
            return Err(TokenError::Malformed);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG);
        let slot_len = usize::from(payload[FIXED - 1]);
        if payload.len() != FIXED + slot_len {
            return Err(TokenError::Malformed);
        }
        let key = self
            .0
            .key(payload[1])
            .ok_or(TokenError::UnknownKey(payload[1]))?;
        let mut signed = Vec::with_capacity(payload.len() + bound.len());
        signed.extend_from_slice(payload);
        signed.extend_from_slice(bound);
        hmac::verify(key, &signed, tag).map_err(|_| TokenError::Forged)?;
        let claims = TokenClaims {
            kind: kind_of(payload[2]).ok_or(TokenError::Malformed)?,
            billing: billing_of(payload[3]).ok_or(TokenError::Malformed)?,
            test: match payload[4] {
                0 => false,
                TEST_FLAG => true,
                _ => return Err(TokenError::Malformed),
            },
            auction: uuid_at(payload, 5),
            campaign: uuid_at(payload, 21),
            lease: uuid_at(payload, 37),
            partner: uuid_at(payload, 53),
            price_micros: i64_at(payload, 69),
            expires_at: i64_at(payload, 77),
            device: i64_at(payload, 85) as u64,
            network: i64_at(payload, 93) as u64,
            slot: String::from_utf8(payload[FIXED..].to_vec())
                .map_err(|_| TokenError::Malformed)?,
        };
        if claims.kind != kind {
            return Err(TokenError::WrongKind(claims.kind));
        }
        if now_s > claims.expires_at {
            return Err(TokenError::Expired(claims.expires_at));
        }
        Ok(claims)
    }
}

fn kind_byte(kind: EventKind) -> u8 {
    match kind {
        EventKind::Impression => 1,
        EventKind::Click => 2,
    }
}

fn kind_of(byte: u8) -> Option<EventKind> {
    match byte {
        1 => Some(EventKind::Impression),
        2 => Some(EventKind::Click),
        _ => None,
    }
}

fn billing_byte(billing: Billing) -> u8 {
    match billing {
        Billing::PerMille => 1,
        Billing::PerClick => 2,
    }
}

fn billing_of(byte: u8) -> Option<Billing> {
    match byte {
        1 => Some(Billing::PerMille),
        2 => Some(Billing::PerClick),
        _ => None,
    }
}

fn uuid_at(bytes: &[u8], at: usize) -> Uuid {
    let mut b = [0_u8; 16];
    b.copy_from_slice(&bytes[at..at + 16]);
    Uuid::from_bytes(b)
}

fn i64_at(bytes: &[u8], at: usize) -> i64 {
    let mut b = [0_u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    i64::from_be_bytes(b)
}

#[cfg(test)]
mod tests;
