// @generated automatically by Diesel CLI.

diesel::table! {
    audit_logs (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Jsonb,
    }
}

diesel::table! {
    distributor_partners (distributor_id, partner_id) {
        distributor_id -> Uuid,
        partner_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    distributors (id) {
        id -> Uuid,
        name -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    durations (id) {
        id -> Uuid,
        months -> Int4,
        discount_percentage -> Numeric,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        queue -> Text,
        payload -> Jsonb,
        idempotency_key -> Text,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        available_at -> Timestamptz,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamptz>,
        enqueued_at -> Nullable<Timestamptz>,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    partners (id) {
        id -> Uuid,
        name -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    product_price_history (id) {
        id -> Int8,
        product_id -> Uuid,
        changed_at -> Timestamptz,
        changed_by -> Nullable<Uuid>,
        pricing_mode -> Text,
        price_list -> Jsonb,
    }
}

diesel::table! {
    product_price_tiers (product_id, position) {
        product_id -> Uuid,
        position -> Int4,
        min_quantity -> Int8,
        max_quantity -> Nullable<Int8>,
        price_per_unit -> Numeric,
        period -> Text,
    }
}

diesel::table! {
    products (id) {
        id -> Uuid,
        name -> Text,
        product_type -> Text,
        unit -> Text,
        pricing_mode -> Text,
        currency -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        session_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        auth_provider -> Text,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        full_name -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        distributor_id -> Nullable<Uuid>,
        partner_id -> Nullable<Uuid>,
        auth_provider -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(audit_logs -> users (actor_id));
diesel::joinable!(distributor_partners -> distributors (distributor_id));
diesel::joinable!(distributor_partners -> partners (partner_id));
diesel::joinable!(product_price_history -> products (product_id));
diesel::joinable!(product_price_history -> users (changed_by));
diesel::joinable!(product_price_tiers -> products (product_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(users -> distributors (distributor_id));
diesel::joinable!(users -> partners (partner_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_logs,
    distributor_partners,
    distributors,
    durations,
    outbox,
    partners,
    product_price_history,
    product_price_tiers,
    products,
    refresh_tokens,
    sessions,
    users,
);
