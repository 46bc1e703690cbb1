# The run catalog (firestore://<project>/runs?database=<name>): a Firestore database of its own in
# native mode, so IAM conditions can grant exactly it, with the composite indexes the catalog's
# queries need (firestoreCatalogIndexes() in core/adapters/catalog/firestore-catalog.ts).
resource "google_firestore_database" "catalog" {
  project                           = local.project
  name                              = local.firestore_database
  location_id                       = local.region
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.apis]
}

resource "google_firestore_index" "runs" {
  for_each = { for fields in local.catalog_indexes : join("-", [for field in fields : field.field_path]) => fields }

  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

# `run` (the whole record) is never queried: no single-field indexes, so a long error message
# costs no index writes.
resource "google_firestore_field" "run_not_indexed" {
  project    = local.project
  database   = google_firestore_database.catalog.name
  collection = local.catalog_collection
  field      = "run"

  index_config {}
}

# Expired job locks are only tidied by this TTL; the catalog checks `expiresAt` itself.
resource "google_firestore_field" "lock_expiry" {
  project    = local.project
  database   = google_firestore_database.catalog.name
  collection = "${local.catalog_collection}-locks"
  field      = "expiresAt"

  ttl_config {}
}
