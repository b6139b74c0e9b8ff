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
    canonical_contacts (provider, external_id) {
        provider -> Text,
        external_id -> Text,
        name -> Text,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        mobile -> Nullable<Text>,
        job_title -> Nullable<Text>,
        organization_external_id -> Nullable<Text>,
        country_code -> Nullable<Text>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        raw_record_id -> Nullable<Int8>,
        content_hash -> Bytea,
        first_seen_at -> Timestamptz,
        last_synced_at -> Timestamptz,
        local_modified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        issues -> Nullable<Jsonb>,
        extras -> Jsonb,
    }
}

diesel::table! {
    canonical_invoices (provider, external_id) {
        provider -> Text,
        external_id -> Text,
        number -> Text,
        customer_external_id -> Nullable<Text>,
        status -> Nullable<Text>,
        issue_date -> Nullable<Date>,
        due_date -> Nullable<Date>,
        currency -> Nullable<Text>,
        amount_untaxed -> Nullable<Numeric>,
        amount_tax -> Nullable<Numeric>,
        amount_total -> Nullable<Numeric>,
        amount_due -> Nullable<Numeric>,
        paid_at -> Nullable<Timestamptz>,
        raw_record_id -> Nullable<Int8>,
        content_hash -> Bytea,
        first_seen_at -> Timestamptz,
        last_synced_at -> Timestamptz,
        local_modified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        issues -> Nullable<Jsonb>,
        extras -> Jsonb,
    }
}

diesel::table! {
    canonical_leads (provider, external_id) {
        provider -> Text,
        external_id -> Text,
        title -> Text,
        organization -> Nullable<Text>,
        contact_name -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        value -> Nullable<Numeric>,
        currency -> Nullable<Text>,
        status -> Nullable<Text>,
        probability -> Nullable<Numeric>,
        expected_close_date -> Nullable<Date>,
        owner -> Nullable<Text>,
        source -> Nullable<Text>,
        lost_reason -> Nullable<Text>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        raw_record_id -> Nullable<Int8>,
        content_hash -> Bytea,
        first_seen_at -> Timestamptz,
        last_synced_at -> Timestamptz,
        local_modified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        owner_external_id -> Nullable<Text>,
        closed_at -> Nullable<Timestamptz>,
        issues -> Nullable<Jsonb>,
        stage -> Nullable<Text>,
        extras -> Jsonb,
    }
}

diesel::table! {
    canonical_orders (provider, external_id) {
        provider -> Text,
        external_id -> Text,
        reference -> Text,
        customer_external_id -> Nullable<Text>,
        status -> Nullable<Text>,
        order_date -> Nullable<Timestamptz>,
        currency -> Nullable<Text>,
        amount_untaxed -> Nullable<Numeric>,
        amount_tax -> Nullable<Numeric>,
        amount_total -> Nullable<Numeric>,
        owner -> Nullable<Text>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        raw_record_id -> Nullable<Int8>,
        content_hash -> Bytea,
        first_seen_at -> Timestamptz,
        last_synced_at -> Timestamptz,
        local_modified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        owner_external_id -> Nullable<Text>,
        issues -> Nullable<Jsonb>,
        extras -> Jsonb,
    }
}

diesel::table! {
    canonical_organizations (provider, external_id) {
        provider -> Text,
        external_id -> Text,
        name -> Text,
        legal_name -> Nullable<Text>,
        vat_number -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        website -> Nullable<Text>,
        street -> Nullable<Text>,
        street2 -> Nullable<Text>,
        city -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        state -> Nullable<Text>,
        country_code -> Nullable<Text>,
        industry -> Nullable<Text>,
        is_customer -> Bool,
        is_supplier -> Bool,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        raw_record_id -> Nullable<Int8>,
        content_hash -> Bytea,
        first_seen_at -> Timestamptz,
        last_synced_at -> Timestamptz,
        local_modified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        issues -> Nullable<Jsonb>,
        extras -> Jsonb,
    }
}

diesel::table! {
    canonical_products (provider, external_id) {
        provider -> Text,
        external_id -> Text,
        name -> Text,
        sku -> Nullable<Text>,
        barcode -> Nullable<Text>,
        unit -> Nullable<Text>,
        list_price -> Nullable<Numeric>,
        cost_price -> Nullable<Numeric>,
        product_type -> Nullable<Text>,
        active -> Bool,
        description -> Nullable<Text>,
        created_at -> Nullable<Timestamptz>,
        updated_at -> Nullable<Timestamptz>,
        raw_record_id -> Nullable<Int8>,
        content_hash -> Bytea,
        first_seen_at -> Timestamptz,
        last_synced_at -> Timestamptz,
        local_modified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        issues -> Nullable<Jsonb>,
        extras -> Jsonb,
    }
}

diesel::table! {
    contracts (id) {
        id -> Uuid,
        order_id -> Uuid,
        state -> Text,
        version -> Int4,
        user_id -> Uuid,
        partner_id -> Nullable<Uuid>,
        distributor_id -> Nullable<Uuid>,
        activation_date -> Timestamptz,
        expiration_date -> Nullable<Timestamptz>,
        renewal_due_at -> Nullable<Timestamptz>,
        replaced_by_order_id -> Nullable<Uuid>,
        billing_provider -> Nullable<Text>,
        billing_invoices -> Array<Nullable<Text>>,
        billing_metadata -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    crm_activities (id) {
        id -> Uuid,
        provider -> Text,
        external_id -> Nullable<Text>,
        lead_id -> Nullable<Uuid>,
        deal_external_id -> Nullable<Text>,
        kind -> Text,
        subject -> Text,
        due_date -> Nullable<Date>,
        due_time -> Nullable<Text>,
        done -> Bool,
        owner -> Nullable<Text>,
        note -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        remote_updated_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    crm_links (lead_id, provider, object) {
        lead_id -> Uuid,
        provider -> Text,
        object -> Text,
        external_id -> Text,
        pushed_version -> Int4,
        remote_updated_at -> Nullable<Timestamptz>,
        synced_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    crm_push_leases (lead_id) {
        lead_id -> Uuid,
        holder -> Uuid,
        expires_at -> Timestamptz,
        again -> Bool,
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
    idempotency_keys (user_id, key) {
        user_id -> Uuid,
        key -> Text,
        fingerprint -> Bytea,
        response_status -> Int4,
        response_body -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    leads (id) {
        id -> Uuid,
        title -> Text,
        organization -> Text,
        contact_name -> Text,
        contact_email -> Text,
        contact_phone -> Nullable<Text>,
        value -> Nullable<Numeric>,
        currency -> Text,
        probability -> Nullable<Int4>,
        expected_close_date -> Nullable<Timestamptz>,
        source -> Nullable<Text>,
        lost_reason -> Nullable<Text>,
        state -> Text,
        version -> Int4,
        owner_id -> Uuid,
        partner_id -> Nullable<Uuid>,
        distributor_id -> Nullable<Uuid>,
        provider_name -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        provider_metadata -> Jsonb,
        converted_order_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_sync_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    lifecycle_history (id) {
        id -> Int8,
        object_type -> Text,
        object_id -> Uuid,
        version -> Int4,
        event -> Text,
        from_state -> Text,
        to_state -> Text,
        actor_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        payload -> Jsonb,
    }
}

diesel::table! {
    mapping_feedback (entity, key, target_field) {
        entity -> Text,
        key -> Text,
        target_field -> Text,
        votes -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    mapping_rules (id) {
        id -> Int8,
        version_id -> Uuid,
        position -> Int4,
        source_field -> Text,
        source_label -> Nullable<Text>,
        source_type -> Nullable<Text>,
        samples -> Jsonb,
        target_field -> Nullable<Text>,
        transform -> Text,
        value_map -> Jsonb,
        confidence -> Float8,
        reason -> Text,
        engine -> Text,
        status -> Text,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    mapping_versions (id) {
        id -> Uuid,
        provider -> Text,
        object -> Text,
        entity -> Text,
        version -> Int4,
        status -> Text,
        origin -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        activated_at -> Nullable<Timestamptz>,
        replay_run_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    notes (id) {
        id -> Uuid,
        object_type -> Text,
        object_id -> Uuid,
        author_id -> Uuid,
        visibility -> Text,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        object_type -> Text,
        object_id -> Uuid,
        subject -> Text,
        body -> Text,
        data -> Jsonb,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
        email_status -> Text,
        email_error -> Nullable<Text>,
        emailed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    order_lines (order_id, position) {
        order_id -> Uuid,
        position -> Int4,
        product_id -> Uuid,
        duration_months -> Int4,
        quantity -> Int8,
        billing_period -> Text,
        subtotal -> Numeric,
        discount -> Numeric,
        total -> Numeric,
    }
}

diesel::table! {
    orders (id) {
        id -> Uuid,
        reference -> Text,
        state -> Text,
        version -> Int4,
        created_by -> Uuid,
        partner_id -> Nullable<Uuid>,
        distributor_id -> Nullable<Uuid>,
        lead_id -> Nullable<Uuid>,
        replaces_contract_id -> Nullable<Uuid>,
        currency -> Text,
        subtotal -> Numeric,
        discount -> Numeric,
        total -> Numeric,
        pricing -> Jsonb,
        billing_provider -> Nullable<Text>,
        billing_quote_id -> Nullable<Text>,
        billing_metadata -> Jsonb,
        crm_provider -> Nullable<Text>,
        crm_deal_id -> Nullable<Text>,
        crm_metadata -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        renews_contract_id -> Nullable<Uuid>,
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
    provider_call_log (id) {
        id -> Int8,
        provider -> Text,
        method -> Text,
        path -> Text,
        status -> Nullable<Int4>,
        outcome -> Text,
        latency_us -> Int8,
        attempt -> Int4,
        job_id -> Nullable<Int8>,
        request_id -> Nullable<Text>,
        called_at -> Timestamptz,
    }
}

diesel::table! {
    provider_calls (id) {
        id -> Int8,
        provider_kind -> Text,
        provider_name -> Text,
        operation -> Text,
        idempotency_key -> Text,
        request -> Jsonb,
        external_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    provider_configs (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        is_active -> Bool,
        configuration -> Jsonb,
        credentials -> Jsonb,
        health_status -> Nullable<Text>,
        health_reason -> Nullable<Text>,
        last_health_check -> Nullable<Timestamptz>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        runtime -> Jsonb,
    }
}

diesel::table! {
    provider_health_checks (id) {
        id -> Int8,
        kind -> Text,
        name -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        latency_ms -> Int4,
        trigger -> Text,
        checked_at -> Timestamptz,
    }
}

diesel::table! {
    provider_owner_links (provider, owner_external_id) {
        provider -> Text,
        owner_external_id -> Text,
        partner_id -> Nullable<Uuid>,
        distributor_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    provider_sync_logs (id) {
        id -> Int8,
        sync_run_id -> Uuid,
        at -> Timestamptz,
        level -> Text,
        message -> Text,
        details -> Jsonb,
    }
}

diesel::table! {
    quarantine (id) {
        id -> Int8,
        sync_run_id -> Nullable<Uuid>,
        provider -> Text,
        entity -> Text,
        external_id -> Nullable<Text>,
        stage -> Text,
        reasons -> Jsonb,
        body -> Nullable<Json>,
        created_at -> Timestamptz,
        canonical_entity -> Nullable<Text>,
        attempts -> Int4,
        updated_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    raw_records (id) {
        id -> Int8,
        provider -> Text,
        entity -> Text,
        external_id -> Text,
        sync_run_id -> Nullable<Uuid>,
        fetched_at -> Timestamptz,
        content_hash -> Bytea,
        body -> Json,
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
    serving_contract_revenue (month, scope_key, currency) {
        month -> Date,
        partner_id -> Nullable<Uuid>,
        distributor_id -> Nullable<Uuid>,
        scope_key -> Text,
        currency -> Text,
        contracts -> Int8,
        mrr -> Numeric,
        arr -> Numeric,
        new_mrr -> Numeric,
        expansion_mrr -> Numeric,
        contraction_mrr -> Numeric,
        churned_mrr -> Numeric,
        refreshed_at -> Timestamptz,
    }
}

diesel::table! {
    serving_pipeline (provider, status, owner_external_id, currency, scope_key) {
        provider -> Text,
        status -> Text,
        owner_external_id -> Text,
        owner -> Nullable<Text>,
        currency -> Text,
        lead_count -> Int8,
        won_count -> Int8,
        lost_count -> Int8,
        value -> Numeric,
        refreshed_at -> Timestamptz,
        own_partner_id -> Nullable<Uuid>,
        own_distributor_id -> Nullable<Uuid>,
        scope_key -> Text,
    }
}

diesel::table! {
    serving_won_revenue (provider, month, owner_external_id, currency, scope_key) {
        provider -> Text,
        month -> Date,
        owner_external_id -> Text,
        owner -> Nullable<Text>,
        currency -> Text,
        won_count -> Int8,
        revenue -> Numeric,
        refreshed_at -> Timestamptz,
        own_partner_id -> Nullable<Uuid>,
        own_distributor_id -> Nullable<Uuid>,
        scope_key -> Text,
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
    sso_codes (code_hash) {
        code_hash -> Text,
        user_id -> Uuid,
        provider -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sso_logins (state_hash) {
        state_hash -> Text,
        provider -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        return_to -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sync_checkpoints (provider, entity) {
        provider -> Text,
        entity -> Text,
        cursor_value -> Nullable<Text>,
        cursor_id -> Nullable<Text>,
        last_run_id -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sync_conflicts (id) {
        id -> Int8,
        sync_run_id -> Nullable<Uuid>,
        provider -> Text,
        entity -> Text,
        external_id -> Text,
        policy -> Text,
        local -> Jsonb,
        remote -> Jsonb,
        resolution -> Text,
        resolved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        resolved_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    sync_run_keys (id) {
        id -> Int8,
        sync_run_id -> Uuid,
        external_ids -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> Uuid,
        provider -> Text,
        entity -> Text,
        mode -> Text,
        status -> Text,
        requested_by -> Nullable<Uuid>,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        estimate -> Nullable<Int8>,
        fetched -> Int8,
        unchanged -> Int8,
        loaded -> Int8,
        quarantined -> Int8,
        deleted -> Int8,
        conflicts -> Int8,
        cursor_value -> Nullable<Text>,
        cursor_id -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        timings -> Jsonb,
        warned -> Int8,
        warnings -> Jsonb,
        quarantine_reasons -> Jsonb,
    }
}

diesel::table! {
    sync_settings (provider) {
        provider -> Text,
        settings -> Jsonb,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
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
        external_id -> Nullable<Text>,
        language -> Text,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Int8,
        provider -> Text,
        event_id -> Text,
        entity -> Text,
        action -> Text,
        entity_id -> Nullable<Text>,
        payload -> Jsonb,
        deliveries -> Int4,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        outcome -> Nullable<Text>,
    }
}

diesel::joinable!(audit_logs -> users (actor_id));
diesel::joinable!(contracts -> distributors (distributor_id));
diesel::joinable!(contracts -> partners (partner_id));
diesel::joinable!(contracts -> users (user_id));
diesel::joinable!(crm_activities -> leads (lead_id));
diesel::joinable!(crm_activities -> users (created_by));
diesel::joinable!(crm_links -> leads (lead_id));
diesel::joinable!(crm_push_leases -> leads (lead_id));
diesel::joinable!(distributor_partners -> distributors (distributor_id));
diesel::joinable!(distributor_partners -> partners (partner_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(leads -> distributors (distributor_id));
diesel::joinable!(leads -> partners (partner_id));
diesel::joinable!(leads -> users (owner_id));
diesel::joinable!(lifecycle_history -> users (actor_id));
diesel::joinable!(mapping_rules -> mapping_versions (version_id));
diesel::joinable!(mapping_rules -> users (decided_by));
diesel::joinable!(mapping_versions -> sync_runs (replay_run_id));
diesel::joinable!(notes -> users (author_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_lines -> products (product_id));
diesel::joinable!(orders -> distributors (distributor_id));
diesel::joinable!(orders -> partners (partner_id));
diesel::joinable!(orders -> users (created_by));
diesel::joinable!(product_price_history -> products (product_id));
diesel::joinable!(product_price_history -> users (changed_by));
diesel::joinable!(product_price_tiers -> products (product_id));
diesel::joinable!(provider_owner_links -> distributors (distributor_id));
diesel::joinable!(provider_owner_links -> partners (partner_id));
diesel::joinable!(provider_sync_logs -> sync_runs (sync_run_id));
diesel::joinable!(quarantine -> sync_runs (sync_run_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sso_codes -> users (user_id));
diesel::joinable!(sync_checkpoints -> sync_runs (last_run_id));
diesel::joinable!(sync_conflicts -> sync_runs (sync_run_id));
diesel::joinable!(sync_conflicts -> users (resolved_by));
diesel::joinable!(sync_runs -> users (requested_by));
diesel::joinable!(sync_settings -> users (updated_by));
diesel::joinable!(users -> distributors (distributor_id));
diesel::joinable!(users -> partners (partner_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_logs,
    canonical_contacts,
    canonical_invoices,
    canonical_leads,
    canonical_orders,
    canonical_organizations,
    canonical_products,
    contracts,
    crm_activities,
    crm_links,
    crm_push_leases,
    distributor_partners,
    distributors,
    durations,
    idempotency_keys,
    leads,
    lifecycle_history,
    mapping_feedback,
    mapping_rules,
    mapping_versions,
    notes,
    notifications,
    order_lines,
    orders,
    outbox,
    partners,
    product_price_history,
    product_price_tiers,
    products,
    provider_call_log,
    provider_calls,
    provider_configs,
    provider_health_checks,
    provider_owner_links,
    provider_sync_logs,
    quarantine,
    raw_records,
    refresh_tokens,
    serving_contract_revenue,
    serving_pipeline,
    serving_won_revenue,
    sessions,
    sso_codes,
    sso_logins,
    sync_checkpoints,
    sync_conflicts,
    sync_run_keys,
    sync_runs,
    sync_settings,
    users,
    webhook_events,
);
