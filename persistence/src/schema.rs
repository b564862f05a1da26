// Diesel table definitions, kept in step with `migrations/{postgres,sqlite}` by hand: both
// stores have the same tables and columns. The HTTP tests run every query on both stores.

diesel::table! {
    cancer_centers (id) {
        id -> Text,
        name -> Text,
        code -> Text,
        created_at -> Timestamp,
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
    }
}

diesel::table! {
    physician_secretary_groups (physician_id, group_id) {
        physician_id -> Text,
        group_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> professionals (professional_id));
diesel::joinable!(profiles -> professionals (professional_id));
diesel::joinable!(profiles -> cancer_centers (cancer_center_id));
diesel::joinable!(secretary_groups -> cancer_centers (cancer_center_id));
diesel::joinable!(secretary_group_members -> secretary_groups (group_id));
diesel::joinable!(secretary_group_members -> professionals (secretary_id));
diesel::joinable!(physician_secretary_groups -> secretary_groups (group_id));

diesel::allow_tables_to_appear_in_same_query!(
    cancer_centers,
    professionals,
    accounts,
    profiles,
    account_requests,
    secretary_groups,
    secretary_group_members,
    secretary_affiliations,
    physician_secretary_groups,
);
