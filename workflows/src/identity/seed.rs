//! Demo data for `tentabo-api seed-demo`: one distributor with two attached partners,
//! one unattached partner, and one user per role. Fixed ids make it idempotent: running
//! it twice changes nothing.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tentabo_schema::models::organisations::{Distributor, DistributorPartner, NewUser, Partner};
use tentabo_schema::schema::{distributor_partners, distributors, partners, users};
use uuid::Uuid;

use crate::WorkflowError;
use crate::identity::password;

pub const DEMO_PASSWORD: &str = "demo123";

/// (email, full name, role) of every demo login, as printed by `./dev up`.
pub const DEMO_LOGINS: &[(&str, &str, &str)] = &[
    ("superadmin@salescommand.com", "Super Admin", "admin"),
    (
        "restricted@salescommand.com",
        "Rita Restricted",
        "restricted_admin",
    ),
    (
        "am1@salescommand.com",
        "Alice Martin (Acme Partner)",
        "partner",
    ),
    (
        "am2@salescommand.com",
        "Bruno Petit (Beta Partner)",
        "partner",
    ),
    (
        "am3@salescommand.com",
        "Chloé Roux (Gamma Partner, unattached)",
        "partner",
    ),
    (
        "distributor@salescommand.com",
        "Denis Dubois (Demo Distribution)",
        "distributor",
    ),
    ("fulfiller@salescommand.com", "Fanny Leroy", "fulfiller"),
];

const DISTRIBUTOR: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_d001);
const ACME: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_9001);
const BETA: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_9002);
const GAMMA: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_9003);

/// Inserts what is missing; returns how many users were created.
pub async fn seed_demo(conn: &mut AsyncPgConnection) -> Result<usize, WorkflowError> {
    let now = Utc::now();
    let hash = password::hash(DEMO_PASSWORD)?;
    conn.transaction::<usize, WorkflowError, _>(async move |conn| {
        diesel::insert_into(distributors::table)
            .values(Distributor {
                id: DISTRIBUTOR,
                name: "Demo Distribution".into(),
                is_active: true,
                created_at: now,
                updated_at: now,
            })
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let orgs = [
            (ACME, "Acme Partner"),
            (BETA, "Beta Partner"),
            (GAMMA, "Gamma Partner"),
        ];
        for (id, name) in orgs {
            diesel::insert_into(partners::table)
                .values(Partner {
                    id,
                    name: name.into(),
                    is_active: true,
                    created_at: now,
                    updated_at: now,
                })
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
        }
        for partner_id in [ACME, BETA] {
            diesel::insert_into(distributor_partners::table)
                .values(DistributorPartner {
                    distributor_id: DISTRIBUTOR,
                    partner_id,
                    created_at: now,
                })
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
        }
        let mut created = 0;
        for (i, (email, name, role)) in DEMO_LOGINS.iter().enumerate() {
            let partner_id = match *email {
                "am1@salescommand.com" => Some(ACME),
                "am2@salescommand.com" => Some(BETA),
                "am3@salescommand.com" => Some(GAMMA),
                _ => None,
            };
            let user = NewUser {
                id: Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_a000 + i as u128),
                email: (*email).into(),
                full_name: (*name).into(),
                password_hash: Some(hash.clone()),
                role: (*role).into(),
                distributor_id: (*role == "distributor").then_some(DISTRIBUTOR),
                partner_id,
                auth_provider: "database".into(),
            };
            created += diesel::insert_into(users::table)
                .values(&user)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
        }
        Ok(created)
    })
    .await
}
