#!/bin/sh
# Creates the run catalog's table through Azure Resource Manager, run by terraform_data.catalog_table
# (catalog.tf) on the first apply and whenever the table's resource id changes.
#
# Why not azurerm_storage_table: azurerm 5.2 creates the table through the table service with Entra
# ID, but then writes and, on every refresh, reads its ACLs with the account key only
# (storage_table_resource.go, DataPlaneOperationSupportingOnlySharedKeyAuth;
# hashicorp/terraform-provider-azurerm#32249, #30815). The backup account refuses shared keys, so
# that resource fails with 403 on the first apply and on every plan after. Resource Manager's
# PUT …/tableServices/default/tables/<name> needs no key and no storage data role: the deployer's
# Owner or Contributor covers Microsoft.Storage/storageAccounts/tableServices/tables/write.
#
# Resource Manager's Table - Create is a create-or-update (200 for a new or an existing table; the
# .NET SDK calls it CreateOrUpdate) that never touches the entities, so running this again is
# harmless. It tries again for a while: Resource Manager may refuse a write on an account that is
# still busy with another operation (the container and the management policy are created in the
# same apply).
#
# Environment: TABLE_ID (the table's Resource Manager id), and optionally VAULTRA_TABLE_ATTEMPTS (5),
# VAULTRA_RETRY_DELAY_SECONDS (10). Needs the Azure CLI, signed in as the identity that runs
# Terraform.
set -eu

: "${TABLE_ID:?}"
attempts=${VAULTRA_TABLE_ATTEMPTS:-5}
delay=${VAULTRA_RETRY_DELAY_SECONDS:-10}
# A Storage resource provider version whose Table_Create takes an empty body.
api_version=2023-05-01

. "$(dirname "$0")/require-az.sh"
require_az create-catalog-table "to create the catalog table through Resource Manager"

attempt=1
while :; do
  # A URL without a host is a resource id: az rest prefixes the current cloud's Resource Manager endpoint.
  if az rest --method put --url "$TABLE_ID?api-version=$api_version" --body '{}' --output none; then
    echo "create-catalog-table: $TABLE_ID exists"
    exit 0
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "create-catalog-table: creating $TABLE_ID failed $attempts times; see the errors above (the identity running Terraform needs Microsoft.Storage/storageAccounts/tableServices/tables/write, which Owner and Contributor hold)" >&2
    exit 1
  fi
  echo "create-catalog-table: attempt $attempt of $attempts failed; trying again in ${delay}s" >&2
  attempt=$((attempt + 1))
  sleep "$delay"
done
