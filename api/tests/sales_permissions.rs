//! SPEC §2 over real HTTP for leads, orders and contracts: every role × every action ×
//! an object of the caller's own organisation, of an attached one, and a foreign one.
//! The expectations below are written from the SPEC's tables, not read from the
//! policy files, so a policy or scope bug makes this test fail.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use diesel::sql_types::{Nullable, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Restricted,
    Partner,
    Distributor,
    Fulfiller,
}

const ROLES: [(Role, &str); 5] = [
    (Role::Admin, "superadmin@salescommand.com"),
    (Role::Restricted, "restricted@salescommand.com"),
    (Role::Partner, "am1@salescommand.com"),
    (Role::Distributor, "distributor@salescommand.com"),
    (Role::Fulfiller, "fulfiller@salescommand.com"),
];

/// Who owns the object: Acme (the partner caller's own organisation, attached to the
/// distributor), Demo Distribution (the distributor caller's own), Gamma (attached to
/// nobody: foreign to both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Acme,
    Distribution,
    Gamma,
}

const OWNERS: [Owner; 3] = [Owner::Acme, Owner::Distribution, Owner::Gamma];

struct Orgs {
    acme: Uuid,
    distribution: Uuid,
    gamma: Uuid,
}

impl Orgs {
    fn of(&self, o: Owner) -> (Option<Uuid>, Option<Uuid>) {
        match o {
            Owner::Acme => (Some(self.acme), None),
            Owner::Distribution => (None, Some(self.distribution)),
            Owner::Gamma => (Some(self.gamma), None),
        }
    }
}

/// SPEC §2: orders and contracts. Partners see their own; distributors their own and
/// their attached partners'; admins, restricted admins — and fulfillers, whose work
/// is the orders they fulfil — see all.
fn sees_order(role: Role, o: Owner) -> bool {
    match role {
        Role::Admin | Role::Restricted | Role::Fulfiller => true,
        Role::Partner => o == Owner::Acme,
        Role::Distributor => matches!(o, Owner::Acme | Owner::Distribution),
    }
}

/// SPEC §2: leads. Fulfillers have no access at all.
fn sees_lead(role: Role, o: Owner) -> Option<bool> {
    match role {
        Role::Fulfiller => None,
        Role::Admin | Role::Restricted => Some(true),
        Role::Partner => Some(o == Owner::Acme),
        Role::Distributor => Some(matches!(o, Owner::Acme | Owner::Distribution)),
    }
}

/// 404 outside the caller's view, 403 inside it without the permission.
fn expect(visible: bool, allowed: bool, ok: u16) -> u16 {
    match (visible, allowed) {
        (false, _) => 404,
        (true, true) => ok,
        (true, false) => 403,
    }
}

struct Fixture {
    app: TestApp,
    orgs: Orgs,
    product: Uuid,
    admin_id: Uuid,
    tokens: Vec<(Role, String)>,
}

async fn fixture() -> Fixture {
    let app = TestApp::seeded().await;
    {
        let mut conn = app.db.conn().await;
        tentabo_workflows::catalogue::seed_demo(&mut conn)
            .await
            .unwrap();
    }
    let orgs = Orgs {
        acme: app.id_of("partners", "name", "Acme Partner").await,
        distribution: app.id_of("distributors", "name", "Demo Distribution").await,
        gamma: app.id_of("partners", "name", "Gamma Partner").await,
    };
    let product = app.id_of("products", "name", "Backup Storage").await;
    let admin_id = app
        .id_of("users", "email", "superadmin@salescommand.com")
        .await;
    let mut tokens = Vec::new();
    for (role, email) in ROLES {
        tokens.push((role, app.token(email).await));
    }
    Fixture {
        app,
        orgs,
        product,
        admin_id,
        tokens,
    }
}

impl Fixture {
    async fn exec(&self, sql: &str, id: Uuid, owner: Owner) {
        let (p, d) = self.orgs.of(owner);
        let mut conn = self.app.db.conn().await;
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(id)
            .bind::<Nullable<SqlUuid>, _>(p)
            .bind::<Nullable<SqlUuid>, _>(d)
            .bind::<SqlUuid, _>(self.admin_id)
            .bind::<SqlUuid, _>(self.product)
            .execute(&mut conn)
            .await
            .unwrap();
    }

    async fn lead(&self, owner: Owner) -> Uuid {
        let id = Uuid::now_v7();
        self.exec(
            "INSERT INTO leads (id, title, organization, contact_name, contact_email, owner_id, \
                 partner_id, distributor_id) \
             SELECT $1, 'Deal', 'Client', 'Carl', 'carl@client.test', $4, $2, $3 \
             WHERE $5::uuid IS NOT NULL",
            id,
            owner,
        )
        .await;
        id
    }

    async fn order(&self, owner: Owner, state: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.exec(
            &format!(
                "WITH o AS (INSERT INTO orders (id, reference, state, created_by, partner_id, distributor_id) \
                     VALUES ($1, 'ORD-' || $1::text, '{state}', $4, $2, $3) RETURNING id) \
                 INSERT INTO order_lines (order_id, position, product_id, duration_months, quantity, \
                     subtotal, discount, total) SELECT id, 0, $5, 12, 1, 10, 0, 10 FROM o"
            ),
            id,
            owner,
        )
        .await;
        id
    }

    async fn contract(&self, owner: Owner) -> Uuid {
        let order = self.order(owner, "fulfilled").await;
        let id = Uuid::now_v7();
        let (p, d) = self.orgs.of(owner);
        let mut conn = self.app.db.conn().await;
        diesel::sql_query(
            "INSERT INTO contracts (id, order_id, user_id, partner_id, distributor_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(order)
        .bind::<SqlUuid, _>(self.admin_id)
        .bind::<Nullable<SqlUuid>, _>(p)
        .bind::<Nullable<SqlUuid>, _>(d)
        .execute(&mut conn)
        .await
        .unwrap();
        id
    }

    async fn call(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> u16 {
        self.app
            .send_as(method, token, path, body)
            .await
            .status()
            .as_u16()
    }

    async fn event(&self, token: &str, kind: &str, id: Uuid, event: &str, payload: Value) -> u16 {
        self.call(
            token,
            Method::POST,
            &format!("/api/v1/{kind}/{id}/transitions"),
            Some(json!({ "event": event, "payload": payload })),
        )
        .await
    }
}

#[tokio::test]
async fn orders_every_role_action_and_ownership() {
    let f = fixture().await;
    let mut failures = Vec::new();
    for (role, token) in &f.tokens {
        let role = *role;
        // create
        let status = f
            .call(
                token,
                Method::POST,
                "/api/v1/orders",
                Some(json!({ "lines": [{ "product_id": f.product, "duration_months": 12, "quantity": 3 }] })),
            )
            .await;
        let may_create = matches!(role, Role::Admin | Role::Restricted | Role::Partner);
        if status != if may_create { 201 } else { 403 } {
            failures.push(format!("{role:?} create order: {status}"));
        }
        for owner in OWNERS {
            let visible = sees_order(role, owner);
            let creates = match role {
                Role::Admin | Role::Restricted => true,
                Role::Partner => owner == Owner::Acme,
                _ => false,
            };
            let fulfils = matches!(role, Role::Admin | Role::Fulfiller);
            let admin = role == Role::Admin;
            let checks: Vec<(&str, u16, u16)> = vec![
                (
                    "view",
                    {
                        let id = f.order(owner, "created").await;
                        f.call(token, Method::GET, &format!("/api/v1/orders/{id}"), None)
                            .await
                    },
                    expect(visible, true, 200),
                ),
                (
                    "send",
                    {
                        let id = f.order(owner, "created").await;
                        f.event(token, "orders", id, "send", json!({})).await
                    },
                    expect(visible, creates, 200),
                ),
                (
                    "cancel",
                    {
                        let id = f.order(owner, "sent").await;
                        f.event(token, "orders", id, "cancel", json!({})).await
                    },
                    expect(visible, creates, 200),
                ),
                (
                    "start_fulfillment",
                    {
                        let id = f.order(owner, "sent").await;
                        f.event(token, "orders", id, "start_fulfillment", json!({}))
                            .await
                    },
                    expect(visible, fulfils, 200),
                ),
                (
                    "fulfill (activate contract)",
                    {
                        let id = f.order(owner, "in_fulfillment").await;
                        f.event(token, "orders", id, "fulfill", json!({})).await
                    },
                    expect(visible, fulfils, 200),
                ),
                (
                    "edit lines",
                    {
                        let id = f.order(owner, "created").await;
                        f.call(token, Method::PUT, &format!("/api/v1/orders/{id}/lines"),
                        Some(json!({ "lines": [{ "product_id": f.product, "duration_months": 12, "quantity": 2 }] }))).await
                    },
                    expect(visible, creates, 200),
                ),
                (
                    "delete",
                    {
                        let id = f.order(owner, "created").await;
                        f.call(token, Method::DELETE, &format!("/api/v1/orders/{id}"), None)
                            .await
                    },
                    expect(visible, admin, 204),
                ),
                (
                    "reassign",
                    {
                        let id = f.order(owner, "created").await;
                        f.call(
                            token,
                            Method::POST,
                            &format!("/api/v1/orders/{id}/reassign"),
                            Some(json!({ "partner_id": f.orgs.gamma })),
                        )
                        .await
                    },
                    expect(visible, admin, 200),
                ),
            ];
            for (action, got, want) in checks {
                if got != want {
                    failures.push(format!(
                        "{role:?} {action} order of {owner:?}: got {got}, want {want}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn contracts_every_role_action_and_ownership() {
    let f = fixture().await;
    let mut failures = Vec::new();
    for (role, token) in &f.tokens {
        let role = *role;
        let admin = role == Role::Admin;
        for owner in OWNERS {
            let visible = sees_order(role, owner);
            let checks: Vec<(&str, u16, u16)> = vec![
                (
                    "view",
                    {
                        let id = f.contract(owner).await;
                        f.call(token, Method::GET, &format!("/api/v1/contracts/{id}"), None)
                            .await
                    },
                    expect(visible, true, 200),
                ),
                (
                    "mark_lost (manage)",
                    {
                        let id = f.contract(owner).await;
                        f.event(token, "contracts", id, "mark_lost", json!({}))
                            .await
                    },
                    expect(visible, admin, 200),
                ),
                (
                    "upgrade (manage)",
                    {
                        let id = f.contract(owner).await;
                        let replacement = f.order(owner, "created").await;
                        f.event(
                            token,
                            "contracts",
                            id,
                            "upgrade",
                            json!({ "order_id": replacement }),
                        )
                        .await
                    },
                    expect(visible, admin, 200),
                ),
                (
                    "reassign",
                    {
                        let id = f.contract(owner).await;
                        f.call(
                            token,
                            Method::POST,
                            &format!("/api/v1/contracts/{id}/reassign"),
                            Some(json!({ "partner_id": f.orgs.acme })),
                        )
                        .await
                    },
                    expect(visible, admin, 200),
                ),
            ];
            for (action, got, want) in checks {
                if got != want {
                    failures.push(format!(
                        "{role:?} {action} contract of {owner:?}: got {got}, want {want}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn leads_every_role_action_and_ownership() {
    let f = fixture().await;
    let mut failures = Vec::new();
    for (role, token) in &f.tokens {
        let role = *role;
        let status = f
            .call(
                token,
                Method::POST,
                "/api/v1/leads",
                Some(
                    json!({ "title": "New deal", "organization": "Client", "contact_name": "Carl",
                             "contact_email": "carl@client.test", "value": "1000.00" }),
                ),
            )
            .await;
        let want = if role == Role::Fulfiller { 403 } else { 201 };
        if status != want {
            failures.push(format!("{role:?} create lead: got {status}, want {want}"));
        }
        for owner in OWNERS {
            // Fulfillers have no lead permission at all: 403 whoever owns the lead.
            let (visible, forbidden) = match sees_lead(role, owner) {
                None => (true, true),
                Some(v) => (v, false),
            };
            let admin = role == Role::Admin;
            let checks: Vec<(&str, u16, u16)> = vec![
                (
                    "view",
                    {
                        let id = f.lead(owner).await;
                        f.call(token, Method::GET, &format!("/api/v1/leads/{id}"), None)
                            .await
                    },
                    expect(visible, !forbidden, 200),
                ),
                (
                    "update status",
                    {
                        let id = f.lead(owner).await;
                        f.event(token, "leads", id, "contact", json!({})).await
                    },
                    expect(visible, !forbidden, 200),
                ),
                (
                    "edit",
                    {
                        let id = f.lead(owner).await;
                        f.call(
                            token,
                            Method::PATCH,
                            &format!("/api/v1/leads/{id}"),
                            Some(json!({ "probability": 40 })),
                        )
                        .await
                    },
                    expect(visible, !forbidden, 200),
                ),
                (
                    "delete",
                    {
                        let id = f.lead(owner).await;
                        f.call(token, Method::DELETE, &format!("/api/v1/leads/{id}"), None)
                            .await
                    },
                    expect(visible, admin, 204),
                ),
            ];
            for (action, got, want) in checks {
                if got != want {
                    failures.push(format!(
                        "{role:?} {action} lead of {owner:?}: got {got}, want {want}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn lists_and_analytics_hold_exactly_the_callers_rows() {
    let f = fixture().await;
    let mut leads = Vec::new();
    let mut orders = Vec::new();
    for owner in OWNERS {
        leads.push((owner, f.lead(owner).await));
        orders.push((owner, f.order(owner, "created").await));
    }
    let ids = |body: &Value| -> Vec<Uuid> {
        let mut v: Vec<Uuid> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().parse().unwrap())
            .collect();
        v.sort();
        v
    };
    for (role, token) in &f.tokens {
        let role = *role;
        let res = f.app.get_as(token, "/api/v1/orders").await;
        assert_eq!(res.status(), 200, "{role:?} lists orders");
        let mut want: Vec<Uuid> = orders
            .iter()
            .filter(|(o, _)| sees_order(role, *o))
            .map(|(_, id)| *id)
            .collect();
        want.sort();
        assert_eq!(ids(&res.json().await.unwrap()), want, "{role:?} order list");

        let res = f.app.get_as(token, "/api/v1/leads").await;
        let analytics = f.app.get_as(token, "/api/v1/leads/analytics").await;
        match sees_lead(role, Owner::Acme) {
            None => {
                assert_eq!(res.status(), 403, "{role:?} lists leads");
                assert_eq!(analytics.status(), 403, "{role:?} lead analytics");
            }
            Some(_) => {
                let mut want: Vec<Uuid> = leads
                    .iter()
                    .filter(|(o, _)| sees_lead(role, *o) == Some(true))
                    .map(|(_, id)| *id)
                    .collect();
                want.sort();
                assert_eq!(ids(&res.json().await.unwrap()), want, "{role:?} lead list");
                let body: Value = analytics.json().await.unwrap();
                assert_eq!(
                    body["by_state"],
                    json!([{ "state": "new", "count": want.len(), "value": "0" }]),
                    "{role:?} analytics"
                );
            }
        }
    }
}
