//! The auction, pure: offers in, the winner and its price out. Money is integer micros, click
//! rates are parts per billion, so every rank and price is exact and reproducible.
//!
//! Ranking is by eCPM (expected price per thousand impressions): a CPM bid is its own eCPM; a CPC
//! bid is worth `bid × CTR × 1000`. The winner of a slot pays the least that keeps it first: the
//! runner-up's eCPM plus one cent (for a CPC winner: that eCPM divided by its CTR × 1000, plus one
//! cent per click), never below the floor and never above its own bid. With no runner-up it pays
//! the floor. Ties go to the earlier offer: callers shuffle offers first for fairness.

use crate::decision::price::CENT_MICROS;

/// Parts per billion: a click-through rate of 1% is 10,000,000.
pub const PPB: i64 = 1_000_000_000;

/// How a campaign pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BidPrice {
    /// Per thousand impressions, micros.
    Cpm(i64),
    /// Per click, micros.
    Cpc(i64),
}

/// One campaign's offer for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub bid: BidPrice,
    /// Predicted click-through rate, parts per billion.
    pub ctr_ppb: i64,
}

impl Offer {
    /// Expected price per thousand impressions, micros (rounded down).
    pub fn ecpm(&self) -> i64 {
        match self.bid {
            BidPrice::Cpm(cpm) => cpm,
            BidPrice::Cpc(cpc) => mul_div_down(cpc, self.ctr_ppb, PPB / 1000),
        }
    }
}

/// What the winner is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Per thousand impressions, micros.
    PerMille(i64),
    /// Per click, micros.
    PerClick(i64),
}

/// A won slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Win {
    /// Index of the winning offer in the input.
    pub offer: usize,
    pub charge: Charge,
    /// The price per thousand impressions told to the exchange, micros (for a CPC winner: its
    /// charge per click times its CTR × 1000, rounded up, within its eCPM).
    pub price_cpm: i64,
}

impl Win {
    /// The win priced at most `ceiling_cpm` per thousand (a supply partner's price ceiling):
    /// the price per thousand cut to it, and a per-click charge cut in the same proportion
    /// (rounded down), so neither the exchange nor the advertiser pays above it.
    pub fn within(self, ceiling_cpm: i64) -> Win {
        if self.price_cpm <= ceiling_cpm {
            return self;
        }
        let charge = match self.charge {
            Charge::PerMille(_) => Charge::PerMille(ceiling_cpm),
            Charge::PerClick(cpc) => {
                Charge::PerClick(mul_div_down(cpc, ceiling_cpm, self.price_cpm.max(1)))
            }
        };
        Win {
            offer: self.offer,
            charge,
            price_cpm: ceiling_cpm,
        }
    }
}

/// Second-price (GSP) auction of one slot with `floor_cpm` as the reserve.
pub fn second_price(offers: &[Offer], floor_cpm: i64) -> Option<Win> {
    let ranked = rank(offers, floor_cpm);
    let (&winner, rest) = ranked.split_first()?;
    let runner_up = rest.first().map(|&i| offers[i].ecpm());
    // The eCPM the winner must reach to stay first and above the floor.
    let needed = runner_up.map_or(floor_cpm, |e| (e + CENT_MICROS).max(floor_cpm));
    Some(charge_for(
        winner,
        &offers[winner],
        needed,
        runner_up.is_some(),
        floor_cpm,
    ))
}

fn charge_for(
    index: usize,
    offer: &Offer,
    needed_ecpm: i64,
    contested: bool,
    floor_cpm: i64,
) -> Win {
    let ecpm = offer.ecpm();
    match offer.bid {
        BidPrice::Cpm(bid) => {
            let price = needed_ecpm.min(bid);
            Win {
                offer: index,
                charge: Charge::PerMille(price),
                price_cpm: price,
            }
        }
        BidPrice::Cpc(bid) => {
            let per_click_at = |cpm: i64| mul_div_up(cpm, PPB / 1000, offer.ctr_ppb.max(1));
            let cpc = if contested {
                // the runner-up's eCPM in this winner's clicks, plus one cent a click
                let runner = needed_ecpm - CENT_MICROS;
                (per_click_at(runner) + CENT_MICROS).max(per_click_at(floor_cpm))
            } else {
                per_click_at(floor_cpm)
            };
            let cpc = cpc.min(bid);
            let price_cpm =
                mul_div_up(cpc, offer.ctr_ppb, PPB / 1000).clamp(floor_cpm.min(ecpm), ecpm);
            Win {
                offer: index,
                charge: Charge::PerClick(cpc),
                price_cpm,
            }
        }
    }
}

/// Offers at or above the floor, best eCPM first; ties keep input order.
fn rank(offers: &[Offer], floor_cpm: i64) -> Vec<usize> {
    let mut ranked: Vec<usize> = (0..offers.len())
        .filter(|&i| {
            let e = offers[i].ecpm();
            e > 0 && e >= floor_cpm
        })
        .collect();
    ranked.sort_by_key(|&i| std::cmp::Reverse(offers[i].ecpm()));
    ranked
}

/// One slot of a multi-slot placement, in order of prominence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// How much attention the slot gets against the first one, parts per billion (the first is
    /// `PPB`; each next one no more than the one before).
    pub factor_ppb: i64,
}

/// A slot won in a multi-slot auction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Index of the offer.
    pub offer: usize,
    /// Index of the position.
    pub position: usize,
    /// What it pays for the impression in this position, per thousand, micros.
    pub price_cpm: i64,
}

/// Generalized second price over several positions: the k-th best offer takes the k-th
/// position and pays the position's share of the next offer's eCPM plus a cent (the floor when
/// there is none), never above its own eCPM there.
pub fn gsp_positions(offers: &[Offer], positions: &[Position], floor_cpm: i64) -> Vec<Placement> {
    let ranked = rank(offers, floor_cpm);
    ranked
        .iter()
        .zip(positions)
        .enumerate()
        .map(|(k, (&i, position))| {
            let next = ranked
                .get(k + 1)
                .map_or(floor_cpm, |&n| {
                    (offers[n].ecpm() + CENT_MICROS).max(floor_cpm)
                })
                .min(offers[i].ecpm());
            Placement {
                offer: i,
                position: k,
                price_cpm: mul_div_up(next, position.factor_ppb, PPB),
            }
        })
        .collect()
}

/// Vickrey–Clarke–Groves over several positions: each winner pays the value its presence takes
/// from the others, `Σ_{k≥j} (α_k − α_{k+1}) · e_{k+1}` for position j (e of a missing offer is the
/// floor). Truthful; never above what GSP charges.
pub fn vcg_positions(offers: &[Offer], positions: &[Position], floor_cpm: i64) -> Vec<Placement> {
    let ranked = rank(offers, floor_cpm);
    let winners = ranked.len().min(positions.len());
    let ecpm_at = |k: usize| ranked.get(k).map_or(floor_cpm, |&i| offers[i].ecpm());
    let factor_at = |k: usize| positions.get(k).map_or(0, |p| p.factor_ppb);
    (0..winners)
        .map(|j| {
            let externality: i128 = (j..positions.len())
                .map(|k| i128::from(factor_at(k) - factor_at(k + 1)) * i128::from(ecpm_at(k + 1)))
                .sum();
            let price = i64::try_from((externality + i128::from(PPB) - 1) / i128::from(PPB))
                .unwrap_or(i64::MAX);
            Placement {
                offer: ranked[j],
                position: j,
                price_cpm: price,
            }
        })
        .collect()
}

/// What an impression of a CPC campaign is expected to cost: its charge per click times the
/// predicted click-through rate (parts per billion), rounded up to the micro, at least one.
pub fn expected_click_cost(cpc: i64, ctr_ppb: i64) -> i64 {
    mul_div_up(cpc, ctr_ppb.max(0), PPB).max(1)
}

fn mul_div_down(a: i64, b: i64, c: i64) -> i64 {
    i64::try_from(i128::from(a) * i128::from(b) / i128::from(c)).unwrap_or(i64::MAX)
}

fn mul_div_up(a: i64, b: i64, c: i64) -> i64 {
    let n = i128::from(a) * i128::from(b);
    let c = i128::from(c);
    i64::try_from((n + c - 1).div_euclid(c)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_ceiling_cuts_the_price_and_a_click_charge_in_proportion() {
        let cpm = Win {
            offer: 0,
            charge: Charge::PerMille(3_000_000),
            price_cpm: 3_000_000,
        };
        assert_eq!(cpm.within(5_000_000), cpm);
        let cut = cpm.within(2_000_000);
        assert_eq!(
            (cut.charge, cut.price_cpm),
            (Charge::PerMille(2_000_000), 2_000_000)
        );
        let cpc = Win {
            offer: 1,
            charge: Charge::PerClick(500_000),
            price_cpm: 4_000_000,
        };
        let cut = cpc.within(1_000_000);
        assert_eq!(
            (cut.charge, cut.price_cpm),
            (Charge::PerClick(125_000), 1_000_000)
        );
    }

    use super::*;

    const fn dollars(cents: i64) -> i64 {
        cents * CENT_MICROS
    }
    fn cpm(cents: i64) -> Offer {
        Offer {
            bid: BidPrice::Cpm(dollars(cents)),
            ctr_ppb: 0,
        }
    }
    fn cpc(cents: i64, ctr_percent_tenths: i64) -> Offer {
        Offer {
            bid: BidPrice::Cpc(dollars(cents)),
            ctr_ppb: ctr_percent_tenths * PPB / 1000,
        }
    }

    #[test]
    fn the_winner_pays_the_runner_up_plus_a_cent() {
        let win = second_price(&[cpm(150), cpm(300), cpm(200)], dollars(50)).expect("win");
        assert_eq!(win.offer, 1);
        assert_eq!(win.charge, Charge::PerMille(dollars(201)));
        assert_eq!(win.price_cpm, dollars(201));
    }

    #[test]
    fn a_single_bidder_pays_the_floor() {
        let win = second_price(&[cpm(300)], dollars(50)).expect("win");
        assert_eq!(win.charge, Charge::PerMille(dollars(50)));
    }

    #[test]
    fn a_tie_goes_to_the_first_offer_at_its_own_bid() {
        let win = second_price(&[cpm(200), cpm(200)], dollars(50)).expect("win");
        assert_eq!(win.offer, 0);
        // the runner-up plus a cent would be above the winner's bid: capped at it
        assert_eq!(win.charge, Charge::PerMille(dollars(200)));
    }

    #[test]
    fn the_floor_binds_when_above_the_runner_up() {
        let win = second_price(&[cpm(200), cpm(100)], dollars(150)).expect("win");
        assert_eq!(win.offer, 0);
        assert_eq!(win.charge, Charge::PerMille(dollars(150)));
    }

    #[test]
    fn offers_under_the_floor_neither_win_nor_set_prices() {
        // 1.00 is under the 1.20 floor: the 2.00 bidder is alone and pays the floor
        let win = second_price(&[cpm(100), cpm(200)], dollars(120)).expect("win");
        assert_eq!(win.offer, 1);
        assert_eq!(win.charge, Charge::PerMille(dollars(120)));
    }

    #[test]
    fn a_reserve_above_every_bid_leaves_the_slot_unsold() {
        assert_eq!(second_price(&[cpm(200), cpm(100)], dollars(250)), None);
        assert_eq!(second_price(&[], 0), None);
    }

    #[test]
    fn a_cpc_winner_pays_per_click_what_keeps_it_first() {
        // CPC 1.00 at 2% CTR: eCPM 20.00; against a 10.00 CPM the least per click is
        // 10.00 / (0.02 × 1000) = 0.50, plus a cent: 0.51
        let offers = [cpm(1000), cpc(100, 20)];
        let win = second_price(&offers, dollars(50)).expect("win");
        assert_eq!(win.offer, 1);
        assert_eq!(win.charge, Charge::PerClick(dollars(51)));
        assert_eq!(win.price_cpm, dollars(1020));
    }

    #[test]
    fn a_cpm_winner_against_a_cpc_runner_up() {
        // CPC 0.40 at 1.5%: eCPM 6.00; the 8.00 CPM wins and pays 6.01
        let win = second_price(&[cpc(40, 15), cpm(800)], dollars(10)).expect("win");
        assert_eq!(win.offer, 1);
        assert_eq!(win.charge, Charge::PerMille(dollars(601)));
    }

    #[test]
    fn a_lone_cpc_winner_pays_the_floor_in_clicks() {
        // floor 3.00 CPM at 1% CTR: 0.30 per click
        let win = second_price(&[cpc(100, 10)], dollars(300)).expect("win");
        assert_eq!(win.charge, Charge::PerClick(dollars(30)));
        assert_eq!(win.price_cpm, dollars(300));
    }

    #[test]
    fn gsp_and_vcg_over_two_positions() {
        // eCPMs 10, 8 and 4; the second position gets half the attention of the first
        let offers = [cpm(400), cpm(1000), cpm(800)];
        let positions = [
            Position { factor_ppb: PPB },
            Position {
                factor_ppb: PPB / 2,
            },
        ];
        let gsp = gsp_positions(&offers, &positions, 0);
        assert_eq!(
            gsp,
            vec![
                Placement {
                    offer: 1,
                    position: 0,
                    price_cpm: dollars(801)
                },
                Placement {
                    offer: 2,
                    position: 1,
                    price_cpm: 2_005_000 // half of 4.01
                },
            ]
        );
        let vcg = vcg_positions(&offers, &positions, 0);
        // first: (1 − 0.5) × 8 + 0.5 × 4 = 6; second: 0.5 × 4 = 2
        assert_eq!(
            vcg.iter()
                .map(|p| (p.offer, p.price_cpm))
                .collect::<Vec<_>>(),
            vec![(1, dollars(600)), (2, dollars(200))]
        );
        for (g, v) in gsp.iter().zip(&vcg) {
            assert!(v.price_cpm <= g.price_cpm);
        }
    }

    #[test]
    fn vcg_with_fewer_offers_than_positions_charges_the_floor() {
        let offers = [cpm(500)];
        let positions = [
            Position { factor_ppb: PPB },
            Position {
                factor_ppb: PPB / 2,
            },
        ];
        let vcg = vcg_positions(&offers, &positions, dollars(100));
        // (1 − 0.5) × 1 + 0.5 × 1 = 1.00
        assert_eq!(vcg.len(), 1);
        assert_eq!(vcg[0].price_cpm, dollars(100));
    }

    proptest::proptest! {
        #[test]
        fn prices_stay_between_floor_and_bid(
            bids in proptest::collection::vec((1i64..100_000_000, 0i64..2, 1i64..200_000_000), 0..12),
            floor in 0i64..20_000_000,
        ) {
            let offers: Vec<Offer> = bids.iter().map(|&(amount, kind, ctr)| Offer {
                bid: if kind == 0 { BidPrice::Cpm(amount) } else { BidPrice::Cpc(amount) },
                ctr_ppb: ctr,
            }).collect();
            if let Some(win) = second_price(&offers, floor) {
                let o = offers[win.offer];
                proptest::prop_assert!(o.ecpm() >= floor);
                proptest::prop_assert!(offers.iter().all(|x| x.ecpm() <= o.ecpm()));
                match (win.charge, o.bid) {
                    (Charge::PerMille(p), BidPrice::Cpm(b)) => {
                        proptest::prop_assert!(p <= b && p >= floor);
                    }
                    (Charge::PerClick(p), BidPrice::Cpc(b)) => {
                        proptest::prop_assert!(p <= b);
                        proptest::prop_assert!(win.price_cpm <= o.ecpm());
                    }
                    other => proptest::prop_assert!(false, "{other:?}"),
                }
            } else {
                proptest::prop_assert!(offers.iter().all(|x| x.ecpm() < floor || x.ecpm() == 0));
            }
        }
    }
}
