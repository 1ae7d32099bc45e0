//! Who trades in the simulated store: customers, their habits, their names.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::directory::{Directory, Party};

/// How a customer orders and pays. Each habit is a person from the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Habit {
    /// Pays each invoice a few days before it is due.
    Prompt,
    /// Pays each invoice 3 to 45 days late.
    Slow,
    /// Pays inside the early-payment discount window and takes it.
    Discounter,
    /// Sends back part of one order in four, credited to what it owes.
    Returner,
    /// Pays on time, but one payment in five bounces and is paid again a
    /// week later.
    Bouncer,
    /// Pays for two months, then stops: goes past 90 days and on hold.
    Delinquent,
    /// Orders several times every working day on 60-day terms and pays
    /// weekly for everything coming due: hundreds of open invoices.
    Big,
}

impl Habit {
    /// In words, for the summary.
    pub fn name(self) -> &'static str {
        match self {
            Habit::Prompt => "prompt payer",
            Habit::Slow => "slow payer",
            Habit::Discounter => "takes every discount",
            Habit::Returner => "returner",
            Habit::Bouncer => "payment bounces",
            Habit::Delinquent => "goes over 90 days",
            Habit::Big => "big account",
        }
    }

    /// The habits every store of 7 or more customers has one of, first.
    const EVERY: [Habit; 7] = [Habit::Big, Habit::Prompt, Habit::Slow, Habit::Discounter, Habit::Returner, Habit::Bouncer, Habit::Delinquent];

    /// The rest are drawn with these weights (out of 100).
    fn draw(rng: &mut ChaCha8Rng) -> Habit {
        match rng.random_range(0..100) {
            0..40 => Habit::Prompt,
            40..60 => Habit::Slow,
            60..75 => Habit::Discounter,
            75..87 => Habit::Returner,
            87..95 => Habit::Bouncer,
            _ => Habit::Delinquent,
        }
    }
}

/// One simulated customer and its account.
#[derive(Clone, Debug)]
pub struct Customer {
    /// The account id (`c0001`, ...).
    pub account_id: String,
    /// The customer id (`c0001-ltd`, ...).
    pub customer_id: String,
    /// How it behaves.
    pub habit: Habit,
    /// Its credit limit in minor units (pence).
    pub limit_minor: i64,
}

const FIRST: [&str; 24] = [
    "Acme", "Birch", "Cobalt", "Dunmore", "Elm", "Fenwick", "Granite", "Harbour", "Ivy", "Juniper", "Kestrel", "Larch", "Meridian", "Northgate",
    "Oakridge", "Pennine", "Quayside", "Redwood", "Severn", "Thistle", "Upland", "Vale", "Willow", "Yew",
];
const SECOND: [&str; 16] = [
    "Dental", "Print", "Joinery", "Architects", "Catering", "Motors", "Pharmacy", "Builders", "Florists", "Opticians", "Bakery", "Surveyors",
    "Electrical", "Veterinary", "Plumbing", "Studios",
];

/// `n` customers, drawn from the seed: the first seven have one habit
/// each, the big account first.
pub fn customers(n: u32, rng: &mut ChaCha8Rng) -> Vec<Customer> {
    (0..n)
        .map(|i| {
            let habit = Habit::EVERY.get(i as usize).copied().unwrap_or_else(|| Habit::draw(rng));
            // Limits in whole pounds: £2,000 to £20,000; the big account £250,000.
            let limit_minor = if habit == Habit::Big { 25_000_000 } else { rng.random_range(20..=200) * 10_000 };
            let account_id = format!("c{:04}", i + 1);
            Customer { customer_id: format!("{account_id}-ltd"), account_id, habit, limit_minor }
        })
        .collect()
}

/// The names printed on the store's documents.
pub fn directory(merchant: &str, customers: &[Customer]) -> Directory {
    let mut d = Directory::default().with_merchant(
        merchant,
        Party {
            name: "Northwind Trade Supplies Ltd".into(),
            address: vec!["Unit 4, Dockside Trading Estate".into(), "Leeds LS10 1AB".into()],
            email: Some("accounts@northwind-trade.example".into()),
        },
    );
    for (i, c) in customers.iter().enumerate() {
        let name = format!("{} {}", FIRST[i % FIRST.len()], SECOND[(i / FIRST.len()) % SECOND.len()]);
        let slug = name.to_lowercase().replace(' ', "-");
        let party = Party {
            name: if i >= FIRST.len() * SECOND.len() { format!("{name} ({})", i + 1) } else { format!("{name} Ltd") },
            address: vec![format!("{} High Street", i % 200 + 1), "York YO1 7HB".into()],
            email: Some(format!("payables@{slug}-{}.example", i + 1)),
        };
        d = d.with_customer(merchant, &c.customer_id, party);
    }
    d
}
