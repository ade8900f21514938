use super::*;
use proptest::prelude::*;

const NOW: i64 = 1_780_000_000;

fn key(fill: u8) -> Vec<u8> {
    vec![fill; MIN_KEY_BYTES]
}

fn ring(signing: u8, ids: &[(u8, u8)]) -> TrackingKeys {
    TrackingKeys::new(
        signing,
        ids.iter().map(|(id, fill)| (*id, key(*fill))).collect(),
    )
    .expect("keys")
}

fn claims(kind: EventKind) -> TokenClaims {
    TokenClaims {
        kind,
        auction: Uuid::from_u128(0x0190_a7c4_0000_7000_8000_0000_0000_0001),
        slot: "1".into(),
        campaign: Uuid::from_u128(7),
        lease: Uuid::from_u128(9),
        partner: Uuid::from_u128(11),
        test: false,
        billing: Billing::PerMille,
        price_micros: 2_345_678,
        expires_at: NOW + 3600,
        device: 0xDEAD_BEEF,
        network: 42,
    }
}

#[test]
fn a_token_verifies_to_what_was_signed() {
    let keys = ring(1, &[(1, 0xAB)]);
    let imp = claims(EventKind::Impression);
    let token = keys.sign(&imp, b"");
    assert!(token.len() < 200, "{} characters", token.len());
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        keys.verify(&token, EventKind::Impression, b"", NOW),
        Ok(imp.clone())
    );
    assert_eq!(imp.event_id(), "0190a7c4-0000-7000-8000-000000000001:1");
}

#[test]
fn an_altered_token_is_refused() {
    let keys = ring(1, &[(1, 0xAB)]);
    let token = keys.sign(&claims(EventKind::Impression), b"");
    let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
    // the price, a little higher
    bytes[59] ^= 0x01;
    let altered = URL_SAFE_NO_PAD.encode(&bytes);
    assert_eq!(
        keys.verify(&altered, EventKind::Impression, b"", NOW),
        Err(TokenError::Forged)
    );
}

#[test]
fn a_token_signed_with_another_secret_under_our_key_id_is_refused() {
    let ours = ring(1, &[(1, 0xAB)]);
    let theirs = ring(1, &[(1, 0xCD)]);
    let forged = theirs.sign(&claims(EventKind::Impression), b"");
    assert_eq!(
        ours.verify(&forged, EventKind::Impression, b"", NOW),
        Err(TokenError::Forged)
    );
}

#[test]
fn an_expired_token_is_refused_and_one_at_its_last_second_is_not() {
    let keys = ring(1, &[(1, 0xAB)]);
    let c = claims(EventKind::Impression);
    let token = keys.sign(&c, b"");
    assert!(
        keys.verify(&token, EventKind::Impression, b"", c.expires_at)
            .is_ok()
    );
    assert_eq!(
        keys.verify(&token, EventKind::Impression, b"", c.expires_at + 1),
        Err(TokenError::Expired(c.expires_at))
    );
}

#[test]
fn an_impression_token_is_no_click_token_and_a_click_is_bound_to_its_landing_page() {
    let keys = ring(1, &[(1, 0xAB)]);
    let imp = keys.sign(&claims(EventKind::Impression), b"");
    assert_eq!(
        keys.verify(&imp, EventKind::Click, b"", NOW),
        Err(TokenError::WrongKind(EventKind::Impression))
    );
    let landing = b"https://shop.example.com/spring";
    let click = keys.sign(&claims(EventKind::Click), landing);
    assert!(keys.verify(&click, EventKind::Click, landing, NOW).is_ok());
    assert_eq!(
        keys.verify(&click, EventKind::Click, b"https://evil.example.net/", NOW),
        Err(TokenError::Forged),
        "the redirect target cannot be swapped"
    );
}

#[test]
fn after_a_rotation_old_tokens_verify_until_their_key_is_dropped() {
    let before = ring(1, &[(1, 0xAB)]);
    let old = before.sign(&claims(EventKind::Impression), b"");
    let rotated = ring(2, &[(1, 0xAB), (2, 0xCD)]);
    assert_eq!(rotated.signing_id(), 2);
    assert!(
        rotated
            .verify(&old, EventKind::Impression, b"", NOW)
            .is_ok()
    );
    let new = rotated.sign(&claims(EventKind::Impression), b"");
    assert_eq!(
        before.verify(&new, EventKind::Impression, b"", NOW),
        Err(TokenError::UnknownKey(2))
    );
    let dropped = ring(2, &[(2, 0xCD)]);
    assert!(
        dropped
            .verify(&new, EventKind::Impression, b"", NOW)
            .is_ok()
    );
    assert_eq!(
        dropped.verify(&old, EventKind::Impression, b"", NOW),
        Err(TokenError::UnknownKey(1))
    );
}

#[test]
fn garbage_is_malformed() {
    let keys = ring(1, &[(1, 0xAB)]);
    let token = keys.sign(&claims(EventKind::Impression), b"");
    for bad in [
        "",
        "abc",
        "not base64 at all!",
        &token[..token.len() - 10],
        &"A".repeat(5000),
    ] {
        assert_eq!(
            keys.verify(bad, EventKind::Impression, b"", NOW),
            Err(TokenError::Malformed),
            "{bad:?}"
        );
    }
}

/// Re-signs a token's payload after `change` with key `fill` (what only a key holder could do).
fn resigned(token: &str, fill: u8, change: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(token).expect("base64");
    bytes.truncate(bytes.len() - TAG);
    change(&mut bytes);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key(fill)), &bytes);
    bytes.extend_from_slice(tag.as_ref());
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn a_version_1_token_or_an_unknown_flag_is_refused_even_when_signed() {
    let keys = ring(1, &[(1, 0xAB)]);
    let token = keys.sign(&claims(EventKind::Impression), b"");
    let old = resigned(&token, 0xAB, |b| b[0] = 1);
    assert_eq!(
        keys.verify(&old, EventKind::Impression, b"", NOW),
        Err(TokenError::Malformed)
    );
    let flagged = resigned(&token, 0xAB, |b| b[4] = 0x80);
    assert_eq!(
        keys.verify(&flagged, EventKind::Impression, b"", NOW),
        Err(TokenError::Malformed)
    );
    let same = resigned(&token, 0xAB, |_| {});
    assert!(keys.verify(&same, EventKind::Impression, b"", NOW).is_ok());
}

#[test]
fn a_test_requests_token_says_so_and_the_flag_cannot_be_dropped() {
    let keys = ring(1, &[(1, 0xAB)]);
    let mut test = claims(EventKind::Impression);
    test.test = true;
    let token = keys.sign(&test, b"");
    assert!(
        keys.verify(&token, EventKind::Impression, b"", NOW)
            .expect("valid")
            .test
    );
    let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
    bytes[4] = 0;
    assert_eq!(
        keys.verify(
            &URL_SAFE_NO_PAD.encode(bytes),
            EventKind::Impression,
            b"",
            NOW
        ),
        Err(TokenError::Forged)
    );
}

#[test]
fn keys_from_configuration_sign_with_the_highest_id_and_hide_the_secret() {
    let b64 = URL_SAFE_NO_PAD.encode(key(1));
    let keys = TrackingKeys::parse(
        &format!("1:{b64}, 2:{}", URL_SAFE_NO_PAD.encode(key(2))),
        None,
    )
    .expect("keys");
    assert_eq!(keys.signing_id(), 2, "the highest id signs by default");
    assert!(matches!(
        TrackingKeys::parse(&format!("1:{b64}"), Some(3)),
        Err(KeyError::NoSigningKey(3))
    ));
    assert!(!format!("{keys:?}").contains(&b64), "Debug shows no secret");
}

proptest! {
    #[test]
    fn any_claims_round_trip(
        auction in any::<u128>(), campaign in any::<u128>(), lease in any::<u128>(),
        price in 0_i64..i64::MAX, expires in NOW..i64::MAX, slot in "[a-zA-Z0-9_-]{1,64}",
        click in any::<bool>(), cpc in any::<bool>(), device in any::<u64>(), network in any::<u64>(),
        partner in any::<u128>(), test in any::<bool>(),
    ) {
        let keys = ring(7, &[(7, 0x11)]);
        let kind = if click { EventKind::Click } else { EventKind::Impression };
        let c = TokenClaims {
            kind,
            auction: Uuid::from_u128(auction),
            slot,
            campaign: Uuid::from_u128(campaign),
            lease: Uuid::from_u128(lease),
            partner: Uuid::from_u128(partner),
            test,
            billing: if cpc { Billing::PerClick } else { Billing::PerMille },
            price_micros: price,
            expires_at: expires,
            device,
            network,
        };
        let token = keys.sign(&c, b"x");
        prop_assert_eq!(keys.verify(&token, kind, b"x", NOW), Ok(c));
    }

    #[test]
    fn no_single_changed_byte_passes(at in 0_usize..200, flip in 1_u8..=255) {
        let keys = ring(1, &[(1, 0xAB)]);
        let token = keys.sign(&claims(EventKind::Impression), b"");
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        let at = at % bytes.len();
        bytes[at] ^= flip;
        let changed = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert!(keys.verify(&changed, EventKind::Impression, b"", NOW).is_err());
    }
}
