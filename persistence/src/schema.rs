// Diesel table definitions, kept in step with `migrations/{postgres,sqlite}` by hand: both
// stores have the same tables and columns. The HTTP tests run every query on both stores, and
// `db::migrations::schema_check` compares every table here with what the SQLite migrations
// build (columns, order, types, nullability, primary key); `dossiers` leaves out on purpose the
// two copies its triggers keep (see that test's `LEFT_OUT`).

diesel::table! {
    cancer_centers (id) {
        id -> Text,
        name -> Text,
        code -> Text,
        created_at -> Timestamp,
        finess -> Nullable<Text>,
    }
}

diesel::table! {
    professionals (id) {
        id -> Text,
        family_name -> Text,
        given_name -> Text,
        search_name -> Text,
        search_name_given_first -> Text,
        rpps -> Nullable<Text>,
        email -> Nullable<Text>,
        category -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        professional_id -> Text,
        username -> Text,
        password_hash -> Text,
        is_platform_admin -> Bool,
        active -> Bool,
        created_at -> Timestamp,
        token_generation -> BigInt,
    }
}

diesel::table! {
    profiles (professional_id, cancer_center_id, kind) {
        professional_id -> Text,
        cancer_center_id -> Text,
        kind -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    account_requests (id) {
        id -> Text,
        cancer_center_id -> Text,
        family_name -> Text,
        given_name -> Text,
        email -> Text,
        rpps -> Nullable<Text>,
        expected_profile -> Text,
        status -> Text,
        requested_by -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reject_reason -> Nullable<Text>,
        professional_id -> Nullable<Text>,
        account_id -> Nullable<Text>,
    }
}

diesel::table! {
    secretary_groups (id) {
        id -> Text,
        cancer_center_id -> Text,
        name -> Text,
        search_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    secretary_group_members (group_id, secretary_id) {
        group_id -> Text,
        secretary_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    secretary_affiliations (physician_id, secretary_id) {
        physician_id -> Text,
        secretary_id -> Text,
        added_at -> Timestamp,
        valid_from -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    physician_secretary_groups (physician_id, group_id) {
        physician_id -> Text,
        group_id -> Text,
        added_at -> Timestamp,
        valid_from -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rcps (id) {
        id -> Text,
        cancer_center_id -> Text,
        name -> Text,
        specialty -> Text,
        created_at -> Timestamp,
        nature -> Nullable<Text>,
        organ -> Nullable<Text>,
        network_id -> Nullable<Text>,
        manager_id -> Nullable<Text>,
        national_id -> Nullable<Text>,
    }
}

diesel::table! {
    rcp_members (rcp_id, professional_id) {
        rcp_id -> Text,
        professional_id -> Text,
        role -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    rcp_managers (rcp_id, professional_id) {
        rcp_id -> Text,
        professional_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    rcp_sessions (id) {
        id -> Text,
        rcp_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        location -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    patients (id) {
        id -> Text,
        family_name -> Text,
        given_name -> Text,
        search_family -> Text,
        search_given -> Text,
        birth_date -> Date,
        sex -> Text,
        birth_place_code -> Nullable<Text>,
        ins -> Nullable<Text>,
        treating_physician_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    patient_correspondents (patient_id, professional_id) {
        patient_id -> Text,
        professional_id -> Text,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        patient_id -> Text,
        title -> Text,
        kind -> Text,
        document_date -> Date,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        content -> Binary,
        uploaded_by -> Text,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    dossiers (id) {
        id -> Text,
        session_id -> Text,
        rcp_id -> Text,
        patient_id -> Text,
        requester_id -> Text,
        status -> Text,
        clinical_summary -> Nullable<Text>,
        question -> Nullable<Text>,
        proposal -> Nullable<Text>,
        version -> Integer,
        registered_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        validated_by -> Nullable<Text>,
        validated_at -> Nullable<Timestamp>,
        first_sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reports (dossier_id) {
        dossier_id -> Text,
        body -> Text,
        produced_by -> Text,
        produced_at -> Timestamp,
    }
}

diesel::table! {
    report_transmissions (id) {
        id -> Text,
        dossier_id -> Text,
        channel -> Text,
        sent_by -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    report_transmission_recipients (transmission_id, recipient_id) {
        transmission_id -> Text,
        recipient_id -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Text,
        on_behalf_of -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        patient_id -> Nullable<Text>,
        cancer_center_id -> Nullable<Text>,
        outcome -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    professional_specialties (professional_id) {
        professional_id -> Text,
        specialty -> Text,
        subspecialty -> Nullable<Text>,
        set_by -> Text,
        set_at -> Timestamp,
    }
}

diesel::table! {
    rcp_quorum (rcp_id) {
        rcp_id -> Text,
        min_physicians -> Integer,
        min_specialties -> Integer,
        required_specialties -> Text,
        set_by -> Text,
        set_at -> Timestamp,
    }
}

diesel::table! {
    session_attendance (session_id, professional_id) {
        session_id -> Text,
        professional_id -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    delegation_events (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Text,
        kind -> Text,
        action -> Text,
        physician_id -> Nullable<Text>,
        secretary_id -> Nullable<Text>,
        group_id -> Nullable<Text>,
        cancer_center_id -> Nullable<Text>,
        profile_kind -> Nullable<Text>,
        valid_from -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
        previous_valid_from -> Nullable<Timestamp>,
        previous_valid_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reports_to_send (dossier_id) {
        dossier_id -> Text,
        requester_id -> Text,
        validated_at -> Timestamp,
    }
}

diesel::table! {
    session_quorum (session_id) {
        session_id -> Text,
        reached_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
    }
}

diesel::table! {
    code_systems (name) {
        name -> Text,
        label -> Text,
        oid -> Nullable<Text>,
        value_set_oid -> Nullable<Text>,
        version -> Nullable<Text>,
        loaded_at -> Nullable<Timestamp>,
        load_id -> Nullable<Text>,
    }
}

diesel::table! {
    terminology_codes (system, code) {
        system -> Text,
        code -> Text,
        label -> Text,
        valid_from -> Date,
        valid_until -> Nullable<Date>,
    }
}

diesel::table! {
    terminology_loads (id) {
        id -> Text,
        system -> Text,
        version -> Text,
        source -> Text,
        loaded_at -> Timestamp,
        codes -> Integer,
        added -> Integer,
        changed -> Integer,
        retired -> Integer,
    }
}

diesel::table! {
    login_sessions (id) {
        id -> Text,
        account_id -> Text,
        method -> Text,
        acr -> Nullable<Text>,
        client_address -> Text,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        last_activity_at -> Timestamp,
        expires_at -> Timestamp,
        refresh_hash -> Text,
        refreshed_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    login_session_used_tokens (refresh_hash) {
        refresh_hash -> Text,
        session_id -> Text,
        used_at -> Timestamp,
    }
}

diesel::table! {
    oidc_attempts (state) {
        state -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    oidc_identities (issuer, subject) {
        issuer -> Text,
        subject -> Text,
        account_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> professionals (professional_id));
diesel::joinable!(oidc_identities -> accounts (account_id));
diesel::joinable!(login_sessions -> accounts (account_id));
diesel::joinable!(login_session_used_tokens -> login_sessions (session_id));
diesel::joinable!(profiles -> professionals (professional_id));
diesel::joinable!(profiles -> cancer_centers (cancer_center_id));
diesel::joinable!(secretary_groups -> cancer_centers (cancer_center_id));
diesel::joinable!(secretary_group_members -> secretary_groups (group_id));
diesel::joinable!(secretary_group_members -> professionals (secretary_id));
diesel::joinable!(physician_secretary_groups -> secretary_groups (group_id));
diesel::joinable!(rcps -> cancer_centers (cancer_center_id));
diesel::joinable!(rcp_members -> rcps (rcp_id));
diesel::joinable!(rcp_managers -> rcps (rcp_id));
diesel::joinable!(rcp_sessions -> rcps (rcp_id));
diesel::joinable!(dossiers -> rcp_sessions (session_id));
diesel::joinable!(dossiers -> rcps (rcp_id));
diesel::joinable!(dossiers -> patients (patient_id));
diesel::joinable!(documents -> patients (patient_id));
diesel::joinable!(patient_correspondents -> patients (patient_id));
diesel::joinable!(reports -> dossiers (dossier_id));
diesel::joinable!(report_transmissions -> dossiers (dossier_id));
diesel::joinable!(report_transmission_recipients -> report_transmissions (transmission_id));
diesel::joinable!(professional_specialties -> professionals (professional_id));
diesel::joinable!(rcp_quorum -> rcps (rcp_id));
diesel::joinable!(session_attendance -> rcp_sessions (session_id));
diesel::joinable!(session_attendance -> professionals (professional_id));
diesel::joinable!(session_quorum -> rcp_sessions (session_id));
diesel::joinable!(reports_to_send -> dossiers (dossier_id));

diesel::table! {
    dossier_fiches (dossier_id) {
        dossier_id -> Text,
        fiche -> Text,
        tumour_site -> Nullable<Text>,
        conform -> Nullable<Bool>,
        complete -> Bool,
        quorum -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dossier_treatments (dossier_id, code) {
        dossier_id -> Text,
        code -> Text,
    }
}

diesel::table! {
    activity_counters (scope, dim, period, k) {
        scope -> Text,
        dim -> Text,
        period -> Text,
        k -> Text,
        sessions_held -> BigInt,
        quorum_reached -> BigInt,
        registered -> BigInt,
        discussed -> BigInt,
        validated -> BigInt,
        withdrawn -> BigInt,
        sent -> BigInt,
        conform -> BigInt,
        conform_known -> BigInt,
        validation_delays -> Text,
        sending_delays -> Text,
    }
}

diesel::joinable!(dossier_fiches -> dossiers (dossier_id));
diesel::joinable!(dossier_treatments -> dossiers (dossier_id));

diesel::allow_tables_to_appear_in_same_query!(
    cancer_centers,
    oidc_attempts,
    oidc_identities,
    professionals,
    accounts,
    profiles,
    account_requests,
    secretary_groups,
    secretary_group_members,
    secretary_affiliations,
    physician_secretary_groups,
    rcps,
    rcp_members,
    rcp_managers,
    rcp_sessions,
    patients,
    patient_correspondents,
    documents,
    dossiers,
    reports,
    report_transmissions,
    report_transmission_recipients,
    audit_events,
    professional_specialties,
    rcp_quorum,
    session_attendance,
    session_quorum,
    delegation_events,
    reports_to_send,
    login_throttle,
    code_systems,
    terminology_codes,
    terminology_loads,
    dossier_fiches,
    dossier_treatments,
    login_sessions,
    login_session_used_tokens,
);
