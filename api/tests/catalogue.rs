//! The catalogue and quote previews over real HTTP.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";

async fn call(
    app: &TestApp,
    method: Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let res = app.send_as(method, token, path, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn storage() -> Value {
    json!({
        "name": "Backup Storage", "type": "storage", "unit": "TB",
        "progressive_price_list": [
            { "min_quantity": 0, "max_quantity": 10, "price_per_unit": "10.00", "period": "month" },
            { "min_quantity": 10, "max_quantity": 50, "price_per_unit": "8.00", "period": "month" },
            { "min_quantity": 50, "max_quantity": null, "price_per_unit": "5.00", "period": "month" }
        ]
    })
}

async fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

async fn durations(app: &TestApp, admin: &str) {
    for (months, discount) in [(12, "0"), (24, "5"), (36, "10")] {
        let (status, _) = call(
            app,
            Method::POST,
            admin,
            "/api/v1/durations",
            Some(json!({ "months": months, "discount_percentage": discount })),
        )
        .await;
        assert_eq!(status, 201);
    }
}

#[tokio::test]
async fn admins_build_the_catalogue_and_everyone_reads_it() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let partner = app.token(PARTNER).await;

    let (status, product) = call(
        &app,
        Method::POST,
        &admin,
        "/api/v1/products",
        Some(storage()),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    assert_eq!(product["pricing_mode"], "graduated");
    assert_eq!(product["currency"], "EUR");
    assert_eq!(
        product["progressive_price_list"][1]["price_per_unit"],
        "8.00"
    );
    assert_eq!(
        product["progressive_price_list"][2]["max_quantity"],
        Value::Null
    );

    let (status, _) = call(
        &app,
        Method::POST,
        &partner,
        "/api/v1/products",
        Some(storage()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, list) = call(&app, Method::GET, &partner, "/api/v1/products", None).await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 1));

    let (status, err) = call(
        &app,
        Method::POST,
        &admin,
        "/api/v1/products",
        Some(storage()),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("name_taken"))
    );

    // A new price list keeps the old one in the history.
    let id = product["id"].as_str().unwrap();
    let (status, _) = call(&app, Method::PATCH, &admin, &format!("/api/v1/products/{id}"), Some(json!({
        "pricing_mode": "volume",
        "progressive_price_list": [{ "min_quantity": 0, "max_quantity": null, "price_per_unit": "9.50", "period": "year" }] }))).await;
    assert_eq!(status, 200);
    let (status, history) = call(
        &app,
        Method::GET,
        &admin,
        &format!("/api/v1/products/{id}/price-history"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["pricing_mode"], "graduated");
    assert_eq!(history[1]["pricing_mode"], "volume");
    assert!(history.iter().all(|h| h["changed_by"].is_string()));
    assert_eq!(
        call(
            &app,
            Method::GET,
            &partner,
            &format!("/api/v1/products/{id}/price-history"),
            None
        )
        .await
        .0,
        403
    );

    // Retired products leave the partner's catalogue, not the admin's.
    call(
        &app,
        Method::PATCH,
        &admin,
        &format!("/api/v1/products/{id}"),
        Some(json!({ "is_active": false })),
    )
    .await;
    assert_eq!(
        call(
            &app,
            Method::GET,
            &partner,
            &format!("/api/v1/products/{id}"),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &admin,
            &format!("/api/v1/products/{id}"),
            None
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn bad_catalogue_input_is_422_field_by_field_and_nothing_is_stored() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!([{ "min_quantity": 0, "max_quantity": 10, "price_per_unit": "1", "period": "month" },
                   { "min_quantity": 5, "max_quantity": null, "price_per_unit": "1", "period": "month" }]),
            "progressive_price_list[1].min_quantity",
            "overlaps_previous_tier",
        ),
        (
            json!([{ "min_quantity": 0, "max_quantity": 10, "price_per_unit": "1", "period": "month" },
                   { "min_quantity": 11, "max_quantity": null, "price_per_unit": "1", "period": "month" }]),
            "progressive_price_list[1].min_quantity",
            "gap_with_previous_tier",
        ),
        (
            json!([{ "min_quantity": 0, "max_quantity": null, "price_per_unit": "-3.00", "period": "month" }]),
            "progressive_price_list[0].price_per_unit",
            "negative",
        ),
        (
            json!([{ "min_quantity": 0, "max_quantity": 0, "price_per_unit": "1", "period": "month" }]),
            "progressive_price_list[0].max_quantity",
            "not_greater_than_min",
        ),
        (json!([]), "progressive_price_list", "required"),
    ];
    for (tiers, field, code) in cases {
        let mut body = storage();
        body["progressive_price_list"] = tiers;
        let (status, err) = call(&app, Method::POST, &admin, "/api/v1/products", Some(body)).await;
        assert_eq!(status, 422, "{field}");
        assert_eq!(
            err["error"]["details"]["fields"][field],
            json!([code]),
            "{err}"
        );
    }
    // Money must be a decimal string, never a float; unknown fields are refused.
    let mut float = storage();
    float["progressive_price_list"][0]["price_per_unit"] = json!(10.1);
    assert_eq!(
        call(&app, Method::POST, &admin, "/api/v1/products", Some(float))
            .await
            .0,
        422
    );
    let mut extra = storage();
    extra["discount"] = json!("5");
    assert_eq!(
        call(&app, Method::POST, &admin, "/api/v1/products", Some(extra))
            .await
            .0,
        422
    );
    let mut blank = storage();
    blank["unit"] = json!(" ");
    blank["currency"] = json!("XYZ");
    let (_, err) = call(&app, Method::POST, &admin, "/api/v1/products", Some(blank)).await;
    assert_eq!(
        err["error"]["details"]["fields"]["unit"],
        json!(["required"])
    );
    assert_eq!(
        err["error"]["details"]["fields"]["currency"],
        json!(["unsupported_currency"])
    );

    for (months, discount, field, code) in [
        (12, "101", "discount_percentage", "out_of_range"),
        (0, "5", "months", "out_of_range"),
        (12, "-1", "discount_percentage", "out_of_range"),
    ] {
        let (status, err) = call(
            &app,
            Method::POST,
            &admin,
            "/api/v1/durations",
            Some(json!({ "months": months, "discount_percentage": discount })),
        )
        .await;
        assert_eq!(
            (status, err["error"]["details"]["fields"][field].clone()),
            (422, json!([code])),
            "{months} {discount}"
        );
    }
    assert_eq!(count(&app, "products").await, 0);
    assert_eq!(count(&app, "product_price_tiers").await, 0);
    assert_eq!(count(&app, "durations").await, 0);

    durations(&app, &admin).await;
    let (status, err) = call(
        &app,
        Method::POST,
        &admin,
        "/api/v1/durations",
        Some(json!({ "months": 12, "discount_percentage": "3" })),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("duration_exists"))
    );
}

#[tokio::test]
async fn a_basket_is_priced_with_its_working_and_labels() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let partner = app.token(PARTNER).await;
    durations(&app, &admin).await;
    let (_, product) = call(
        &app,
        Method::POST,
        &admin,
        "/api/v1/products",
        Some(storage()),
    )
    .await;
    let id = product["id"].as_str().unwrap();
    let mut seats = storage();
    seats["name"] = json!("Seats");
    seats["unit"] = json!("seat");
    seats["progressive_price_list"] = json!([{ "min_quantity": 0, "max_quantity": null, "price_per_unit": "100.00", "period": "year" }]);
    let (_, seat) = call(&app, Method::POST, &admin, "/api/v1/products", Some(seats)).await;
    let seat_id = seat["id"].as_str().unwrap();

    let basket = json!({ "lines": [
        { "product_id": id, "duration_months": 24, "quantity": 60 },
        { "product_id": seat_id, "duration_months": 12, "quantity": 3, "billing_period": "month" }
    ]});
    let (status, quote) = call(
        &app,
        Method::POST,
        &partner,
        "/api/v1/quotes/preview",
        Some(basket.clone()),
    )
    .await;
    assert_eq!(status, 200, "{quote}");
    // 60 TB: 10 × 10 + 40 × 8 + 10 × 5 = 470 a month; × 24 = 11,280; 5 % = 564.
    let l0 = &quote["lines"][0];
    assert_eq!(
        (l0["recurring_amount"].as_str(), l0["subtotal"].as_str()),
        (Some("470.00"), Some("11280.00"))
    );
    assert_eq!(
        (l0["discount"].as_str(), l0["total"].as_str()),
        (Some("564.00"), Some("10716.00"))
    );
    assert_eq!(
        l0["tiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["units"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [10, 40, 10]
    );
    assert_eq!(l0["tiers"][1]["amount"], "7680.00");
    // 3 seats at 100 a year, 12 months: 300; billed monthly: 25.00.
    let l1 = &quote["lines"][1];
    assert_eq!(
        (l1["recurring_amount"].as_str(), l1["total"].as_str()),
        (Some("25.00"), Some("300.00"))
    );
    assert_eq!(
        (
            quote["subtotal"].as_str(),
            quote["discount"].as_str(),
            quote["total"].as_str()
        ),
        (Some("11580.00"), Some("564.00"), Some("11016.00"))
    );
    assert_eq!(quote["total_label"], "€11,016.00");

    let res = app
        .client
        .post(app.url("/api/v1/quotes/preview"))
        .bearer_auth(&partner)
        .header("accept-language", "fr")
        .json(&basket)
        .send()
        .await
        .unwrap();
    let fr: Value = res.json().await.unwrap();
    assert_eq!(fr["total_label"], "11\u{202f}016,00\u{a0}€");
    assert_eq!(count(&app, "outbox").await, 0, "a preview creates nothing");
}

#[tokio::test]
async fn bad_baskets_are_refused_per_line() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    durations(&app, &admin).await;
    let (_, product) = call(
        &app,
        Method::POST,
        &admin,
        "/api/v1/products",
        Some(storage()),
    )
    .await;
    let id = product["id"].as_str().unwrap();
    let (status, err) = call(
        &app,
        Method::POST,
        &admin,
        "/api/v1/quotes/preview",
        Some(json!({ "lines": [
            { "product_id": uuid::Uuid::new_v4(), "duration_months": 12, "quantity": 1 },
            { "product_id": id, "duration_months": 7, "quantity": 1 },
            { "product_id": id, "duration_months": 12, "quantity": 0 },
            { "product_id": id, "duration_months": 12, "quantity": -4 }
        ]})),
    )
    .await;
    assert_eq!(status, 422);
    let fields = &err["error"]["details"]["fields"];
    assert_eq!(fields["lines[0].product_id"], json!(["not_found"]));
    assert_eq!(
        fields["lines[1].duration_months"],
        json!(["unknown_duration"])
    );
    assert_eq!(fields["lines[2].quantity"], json!(["out_of_range"]));
    assert_eq!(fields["lines[3].quantity"], json!(["out_of_range"]));
    let (status, err) = call(
        &app,
        Method::POST,
        &admin,
        "/api/v1/quotes/preview",
        Some(json!({ "lines": [] })),
    )
    .await;
    assert_eq!(
        (status, err["error"]["details"]["fields"]["lines"].clone()),
        (422, json!(["required"]))
    );
    let (status, _) = call(&app, Method::POST, &admin, "/api/v1/quotes/preview", Some(json!({ "lines": [{ "product_id": id, "duration_months": 12, "quantity": 1, "billing_period": "week" }] }))).await;
    assert_eq!(status, 422);
}
