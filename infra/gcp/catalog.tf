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

# The composite indexes, one resource each in a depends_on chain: Firestore answers concurrent
# index creations on one database with 409s ("too much contention", "underlying data changed",
# "cross-transaction contention"), and the provider retries only the last two. for_each would
# create them in parallel, and a resource cannot depend on its own instances, hence the chain.
# Slot N holds local.catalog_indexes[N - 1]; test/infra-terraform checks there is one slot per
# index of firestoreCatalogIndexes(), in order, each waiting for the one before.
resource "google_firestore_index" "runs_1" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[0]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

resource "google_firestore_index" "runs_2" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[1]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_index.runs_1]
}

resource "google_firestore_index" "runs_3" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[2]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_index.runs_2]
}

resource "google_firestore_index" "runs_4" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[3]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_index.runs_3]
}

resource "google_firestore_index" "runs_5" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[4]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_index.runs_4]
}

resource "google_firestore_index" "runs_6" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[5]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_index.runs_5]
}

resource "google_firestore_index" "runs_7" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[6]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_index.runs_6]
}

resource "google_firestore_index" "runs_8" {
  project     = local.project
  database    = google_firestore_database.catalog.name
  collection  = local.catalog_collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = local.catalog_indexes[7]
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_index.runs_7]
}

# `run` (the whole record) is never queried: no single-field indexes, so a long error message
# costs no index writes.
resource "google_firestore_field" "run_not_indexed" {
  project    = local.project
  database   = google_firestore_database.catalog.name
  collection = local.catalog_collection
  field      = "run"

  index_config {}

  # Field changes are database index operations too: after the last index, not beside them.
  depends_on = [google_firestore_index.runs_8]
}

# Expired job locks are only tidied by this TTL; the catalog checks `expiresAt` itself.
resource "google_firestore_field" "lock_expiry" {
  project    = local.project
  database   = google_firestore_database.catalog.name
  collection = "${local.catalog_collection}-locks"
  field      = "expiresAt"

  ttl_config {}

  depends_on = [google_firestore_field.run_not_indexed]
}
