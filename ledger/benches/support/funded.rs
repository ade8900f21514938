//! Campaigns with money to spend, for the benchmarks: each its own advertiser, a billion
//! deposited and half of it held.

use anyhow::Result;
use ledger::{
    Account, AccountOwner, AdvertiserId, Amount, BatchMode, CampaignId, Currency, Ledger,
    NewTransfer, TransferId, TransferKind,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A campaign's accounts (each benchmark reads some of them).
#[allow(dead_code)]
pub struct Campaign {
    pub id: CampaignId,
    pub cash: Account,
    pub hold: Account,
    pub spend: Account,
}

/// Opens and funds `advertisers` campaigns in USD.
pub async fn setup(ledger: &Ledger, advertisers: usize) -> Result<Vec<Campaign>> {
    let usd = Currency::parse("USD")?;
    let world = ledger.open_account(AccountOwner::External, usd).await?;
    let mut campaigns = Vec::with_capacity(advertisers);
    let mut funding = Vec::new();
    for _ in 0..advertisers {
        let (advertiser, campaign) = (AdvertiserId::new(), CampaignId::new());
        let cash = ledger
            .open_account(AccountOwner::AdvertiserCash { advertiser }, usd)
            .await?;
        let hold = ledger
            .open_account(
                AccountOwner::CampaignHold {
                    advertiser,
                    campaign,
                },
                usd,
            )
            .await?;
        let spend = ledger
            .open_account(
                AccountOwner::CampaignSpend {
                    advertiser,
                    campaign,
                },
                usd,
            )
            .await?;
        funding.push(NewTransfer::new(
            TransferId::new(),
            world.id,
            cash.id,
            Amount::parse("1000000000")?,
            usd,
            TransferKind::Deposit,
        ));
        funding.push(NewTransfer::new(
            TransferId::new(),
            cash.id,
            hold.id,
            Amount::parse("500000000")?,
            usd,
            TransferKind::Hold,
        ));
        campaigns.push(Campaign {
            id: campaign,
            cash,
            hold,
            spend,
        });
    }
    for chunk in funding.chunks(2000) {
        for result in ledger.transfer_batch(chunk, BatchMode::Linked).await? {
            result?;
        }
    }
    Ok(campaigns)
}

/// Spend rows over all campaigns, split into one shard per writer (writer `w` takes the campaigns
/// whose index is `w` modulo the number of writers, as a stream sharded by campaign would), each
/// shard cut into batches.
#[allow(dead_code)]
pub fn spend_shards(
    campaigns: &[Campaign],
    rows: usize,
    batch: usize,
    writers: usize,
) -> Vec<Vec<Vec<NewTransfer>>> {
    let mut rng = StdRng::seed_from_u64(batch as u64);
    let usd = Currency::parse("USD").ok();
    let amount = Amount::parse("0.0025").ok();
    let (Some(usd), Some(amount)) = (usd, amount) else {
        return Vec::new();
    };
    let mut shards: Vec<Vec<NewTransfer>> = vec![Vec::new(); writers];
    for i in 0..rows {
        let index = rng.random_range(0..campaigns.len());
        let c = &campaigns[index];
        shards[index % writers].push(
            NewTransfer::new(
                TransferId::new(),
                c.hold.id,
                c.spend.id,
                amount,
                usd,
                TransferKind::Spend,
            )
            .with_references(ledger::References {
                event: Some(format!("imp-{batch}-{i}")),
                ..Default::default()
            }),
        );
    }
    shards
        .into_iter()
        .map(|rows| rows.chunks(batch).map(<[NewTransfer]>::to_vec).collect())
        .collect()
}
