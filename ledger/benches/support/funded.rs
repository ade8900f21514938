//! Campaigns with money to spend, for the benchmarks: each its own advertiser, a billion
//! deposited and half of it held.

use anyhow::Result;
use ledger::{
    Account, AccountOwner, AdvertiserId, Amount, BatchMode, CampaignId, Currency, Ledger,
    NewTransfer, TransferId, TransferKind,
};

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
