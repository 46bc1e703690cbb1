#!/bin/sh
# Publishes the functions' package to the Flex Consumption app, run by terraform_data.publish_functions
# (functions.tf) after the app is created or changed and whenever the package changes.
#
# First it deletes the app setting AzureWebJobsStorage. azurerm (5.2 included) writes it on every
# create and update of a Flex app, as a connection string with an empty key even when the app
# reaches its storage with an identity (hashicorp/terraform-provider-azurerm#29693). A connection
# name that resolves to one value is read as a connection string, so Microsoft's identity-based
# host storage setup replaces AzureWebJobsStorage by AzureWebJobsStorage__accountName rather than
# adding to it, and an empty value broke hosts too (Azure/azure-functions-host#11796): only the
# __* settings may remain.
#
# Why not the provider's zip_deploy_file: azurerm posts it to Kudu's /api/zipdeploy, which Flex
# Consumption does not have (hashicorp/terraform-provider-azurerm#29630). `az functionapp
# deployment source config-zip` detects a Flex app and publishes through OneDeploy
# (/api/publish), then checks that the host came up.
#
# Tries again for a while: on a first apply the app's identity has only just been granted its
# storage account, and until that grant reaches the storage service the upload of the package
# into the deployment container (and the host's start) fails with 403.
#
# Environment: SUBSCRIPTION, RESOURCE_GROUP, FUNCTION_APP, PACKAGE (the zip), and optionally
# VAULTRA_PUBLISH_ATTEMPTS (10), VAULTRA_RETRY_DELAY_SECONDS (30). Needs the Azure CLI, signed in as
# the identity that runs Terraform.
set -eu

: "${SUBSCRIPTION:?}" "${RESOURCE_GROUP:?}" "${FUNCTION_APP:?}" "${PACKAGE:?}"
attempts=${VAULTRA_PUBLISH_ATTEMPTS:-10}
delay=${VAULTRA_RETRY_DELAY_SECONDS:-30}

. "$(dirname "$0")/require-az.sh"
require_az publish-functions "to publish the functions to a Flex Consumption app"

attempt=1
while :; do
  if az functionapp config appsettings delete --subscription "$SUBSCRIPTION" --resource-group "$RESOURCE_GROUP" \
    --name "$FUNCTION_APP" --setting-names AzureWebJobsStorage --output none &&
    az functionapp deployment source config-zip --subscription "$SUBSCRIPTION" --resource-group "$RESOURCE_GROUP" \
      --name "$FUNCTION_APP" --src "$PACKAGE" --output none; then
    echo "publish-functions: published $PACKAGE to $FUNCTION_APP"
    exit 0
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "publish-functions: publishing to $FUNCTION_APP failed $attempts times; see the errors above" >&2
    exit 1
  fi
  echo "publish-functions: attempt $attempt of $attempts failed; trying again in ${delay}s (new role assignments take minutes to reach storage)" >&2
  attempt=$((attempt + 1))
  sleep "$delay"
done
