//! Audit checkpoints signed through a real OpenBao (Vault transit, ed25519): they verify, old key
//! versions still verify after a rotation, a forged signature does not, and while Vault is away
//! rows keep being chained and the checkpoints wait, then are signed in order.

use std::time::Duration;

use audit::ChainFault;
use audit::{AuditTrail, CheckpointRules};
use ledger::{Ledger, MIGRATOR, TransferKind};
use sqlx::PgPool;
use uuid::Uuid;
use vault::transit::TransitSigner;

use ledger::fixtures::{Advertiser, advertiser, tamper, transfer};

/// A checkpoint every five rows.
const EVERY_FIVE: CheckpointRules = CheckpointRules {
    rows: 5,
    every: Duration::from_secs(3600),
};

/// A signer with a key of its own on the OpenBao of `scripts/services`.
pub async fn signer() -> TransitSigner {
    let test_support::Vault { address, token } = test_support::vault();
    let key = format!("audit-test-{}", Uuid::now_v7().simple());
    let signer = TransitSigner::new(&address, &token, "transit", &key, Duration::from_secs(5))
        .expect("signer");
    signer.ensure_key().await.expect("key");
    signer
}

/// Posts `n` holds, chains them and asks for a checkpoint when due.
pub async fn write(ledger: &Ledger, a: &Advertiser, n: usize) {
    let trail = AuditTrail::new(ledger.pool().clone());
    for _ in 0..n {
        ledger
            .transfer(transfer(&a.cash, &a.hold, "1", TransferKind::Hold))
            .await
            .expect("hold");
        while trail.chain(100).await.expect("chain") > 0 {}
        trail
            .request_checkpoint(EVERY_FIVE)
            .await
            .expect("checkpoint");
    }
}

async fn signed_versions(pool: &PgPool) -> Vec<(i64, Option<i32>)> {
    sqlx::query_as("select size, key_version from audit_checkpoints order by size")
        .fetch_all(pool)
        .await
        .expect("checkpoints")
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn checkpoints_are_signed_in_order_and_verify(pool: PgPool) {
    let (ledger, signer) = (Ledger::new(pool.clone()), signer().await);
    let trail = AuditTrail::new(ledger.pool().clone());
    let a = advertiser(&ledger, "100").await;
    write(&ledger, &a, 14).await;
    assert_eq!(trail.sign_checkpoints(&signer).await.expect("sign"), 3);
    assert_eq!(
        signed_versions(&pool).await,
        vec![(2, Some(1)), (7, Some(1)), (12, Some(1))],
        "the deposit and the first hold, then every five rows"
    );
    let summary = trail
        .verify_signed(&signer)
        .await
        .expect("vault")
        .expect("intact");
    assert_eq!((summary.rows, summary.checkpoints), (15, 3));
    // a signed checkpoint never changes
    let changed =
        sqlx::query("update audit_checkpoints set signature = 'vault:v1:AAAA' where size = 7")
            .execute(&pool)
            .await;
    assert!(changed.is_err());
    // and signing again signs nothing twice
    assert_eq!(trail.sign_checkpoints(&signer).await.expect("sign"), 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_rotated_out_key_version_still_verifies_and_a_forged_signature_does_not(pool: PgPool) {
    let (ledger, signer) = (Ledger::new(pool.clone()), signer().await);
    let trail = AuditTrail::new(ledger.pool().clone());
    let a = advertiser(&ledger, "100").await;
    write(&ledger, &a, 5).await;
    trail.sign_checkpoints(&signer).await.expect("sign");
    signer.rotate().await.expect("rotate");
    write(&ledger, &a, 5).await;
    trail.sign_checkpoints(&signer).await.expect("sign");
    assert_eq!(
        signed_versions(&pool).await,
        vec![(2, Some(1)), (7, Some(2))],
        "signed before and after the rotation"
    );
    let summary = trail
        .verify_signed(&signer)
        .await
        .expect("vault")
        .expect("the old version still verifies");
    assert_eq!(summary.checkpoints, 2);

    // a privileged session puts a real signature of another checkpoint on the one at 2
    tamper(
        &pool,
        "update audit_checkpoints set signature = (select signature from audit_checkpoints where size = 7)
          where size = 2",
    )
    .await;
    assert_eq!(
        trail.verify_signed(&signer).await.expect("vault"),
        Err(ChainFault::BadSignature { size: 2 })
    );
    // and ones made up outright
    tamper(
        &pool,
        "update audit_checkpoints set signature = 'vault:v2:' || encode(decode(repeat('ab', 64), 'hex'), 'base64')
          where size in (2, 7)",
    )
    .await;
    assert_eq!(
        trail.verify_signed(&signer).await.expect("vault"),
        Err(ChainFault::BadSignature { size: 2 })
    );
}

/// An OpenBao of this test's own, that can be paused (unreachable, state kept) and resumed.
struct PrivateBao {
    child: std::process::Child,
    address: String,
}

const PRIVATE_TOKEN: &str = "audit-test-root";

impl PrivateBao {
    async fn start() -> PrivateBao {
        let bin = std::env::var("BAO_BIN").expect("BAO_BIN (eval \"$(scripts/services env)\")");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let child = std::process::Command::new(bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={PRIVATE_TOKEN}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-no-store-token",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("bao server");
        // owned at once, so it is killed however the start ends
        let bao = PrivateBao {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        let client = vaultrs::client::VaultClient::new(
            vaultrs::client::VaultClientSettingsBuilder::default()
                .address(&bao.address)
                .token(PRIVATE_TOKEN)
                .build()
                .expect("settings"),
        )
        .expect("client");
        for _ in 0..200 {
            if vaultrs::sys::mount::enable(&client, "transit", "transit", None)
                .await
                .is_ok()
            {
                return bao;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the private OpenBao did not start");
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for PrivateBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn vault_away_during_writes_loses_nothing_and_checkpoints_are_signed_in_order_after(
    pool: PgPool,
) {
    let bao = PrivateBao::start().await;
    let signer = TransitSigner::new(
        &bao.address,
        PRIVATE_TOKEN,
        "transit",
        "audit",
        Duration::from_millis(500),
    )
    .expect("signer");
    signer.ensure_key().await.expect("key");
    let ledger = Ledger::new(pool.clone());
    let trail = AuditTrail::new(ledger.pool().clone());
    let a = advertiser(&ledger, "100").await;
    write(&ledger, &a, 5).await;
    assert_eq!(trail.sign_checkpoints(&signer).await.expect("sign"), 1);

    // Vault stops answering: writes and chaining go on, signing fails and waits
    bao.signal("-STOP");
    write(&ledger, &a, 15).await;
    assert!(trail.sign_checkpoints(&signer).await.is_err());
    let rows: i64 = sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(&pool)
        .await
        .expect("rows");
    assert_eq!(rows, 21, "every row chained while Vault was away");
    let waiting: i64 =
        sqlx::query_scalar("select count(*) from audit_checkpoints where signature is null")
            .fetch_one(&pool)
            .await
            .expect("waiting");
    assert_eq!(waiting, 3);

    // back: the waiting checkpoints are signed, in order
    bao.signal("-CONT");
    assert_eq!(trail.sign_checkpoints(&signer).await.expect("sign"), 3);
    let signed_at: Vec<(i64, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("select size, signed_at from audit_checkpoints order by size")
            .fetch_all(&pool)
            .await
            .expect("signed");
    assert_eq!(
        signed_at.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![2, 7, 12, 17]
    );
    assert!(
        signed_at.windows(2).all(|w| w[0].1 <= w[1].1),
        "signed in order: {signed_at:?}"
    );
    let summary = trail
        .verify_signed(&signer)
        .await
        .expect("vault")
        .expect("intact");
    assert_eq!((summary.rows, summary.checkpoints), (21, 4));
}
