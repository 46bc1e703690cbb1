# The backup account and container (azblob://<account>/<container>/<prefix>): TLS 1.2, HTTPS only,
# no public blobs, no shared keys (every identity uses Entra ID), blob versioning (a retention
# delete can be undone for noncurrentVersionExpirationDays), and with storage.objectLock a
# version-level immutability policy.
resource "azurerm_storage_account" "backups" {
  name                              = local.storage_account_name
  resource_group_name               = local.resource_group.name
  location                          = local.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.storage_replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  tags                              = local.tags

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = 7
    }

    container_delete_retention_policy {
      days = 7
    }
  }

  dynamic "immutability_policy" {
    for_each = local.immutability_days == null ? [] : [local.immutability_days]
    content {
      period_since_creation_in_days = immutability_policy.value
      state                         = var.lock_immutability_policy ? "Locked" : "Unlocked"
      allow_protected_append_writes = false
    }
  }

  lifecycle {
    prevent_destroy = true
  }
}

resource "azurerm_storage_container" "backups" {
  name                  = local.container_name
  storage_account_id    = azurerm_storage_account.backups.id
  container_access_type = "private"
}

# Old versions (left by retention deletes) go after the grace period; storage.transitions move
# backups to colder tiers as they age.
resource "azurerm_storage_management_policy" "backups" {
  storage_account_id = azurerm_storage_account.backups.id

  rule {
    name    = "vaultra-versions-and-tiers"
    enabled = true

    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["${local.container_name}/${local.prefix}/"]
    }

    actions {
      version {
        delete_after_days_since_creation = local.noncurrent_version_days
      }

      dynamic "base_blob" {
        for_each = anytrue([for days in values(local.tier_after_days) : days != null]) ? [local.tier_after_days] : []
        content {
          tier_to_cool_after_days_since_modification_greater_than    = base_blob.value.cool
          tier_to_cold_after_days_since_modification_greater_than    = base_blob.value.cold
          tier_to_archive_after_days_since_modification_greater_than = base_blob.value.archive
        }
      }
    }
  }
}
